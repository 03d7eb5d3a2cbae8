/*
 * wasm_fsrace: a guest that attacks the file system it is granted, for the
 * wasm runtime's tests of path confinement. Built with
 * include/clawd_plugin_wasm.c.
 *
 * on_tool_call, by tool name (a second path, where one is needed, is the
 * input, a JSON string):
 *   op:<op>:<path>  one operation; logs "op:<op>:ok[:<detail>]" (returns 0)
 *                   or "op:<op>:err:<ERRNO NAME>" (returns CALLBACK_ERROR).
 *                   <op>: read (detail: the first line), stat, lstat
 *                   (detail: type and size), readlink (detail: the
 *                   target), mkdir, rmdir, unlink, rename (to input),
 *                   link (new name input), symlink (target input, at
 *                   path), utimes (both times to 0, following), creat
 *                   (O_CREAT|O_WRONLY, writes "x"), opendir (detail: the
 *                   names, comma-separated, "." and ".." left out),
 *                   openat (opens the directory path, then input beneath it
 *                   by the descriptor; detail: the first line).
 *   swap            until the file "stop" exists (at most 10 million
 *                   rounds): renames d -> d.real, evil -> d, d -> evil,
 *                   d.real -> d; d is a directory, evil a symlink that
 *                   points out of the grant. Logs "swap:rounds=<n>".
 *   probe:<k>       runs operations on paths beneath d until its read has
 *                   seen both the directory and EPERM at least k times each
 *                   (at most 200000 rounds), and logs, per operation,
 *                   "probe:<op>:in=<n>:err=<n>:leak=<n>": leak counts
 *                   results only the outside could give (what is outside
 *                   is below). Then "probe:rounds=<n>:in=<n>:refused=<n>",
 *                   the reads of d/secret.txt that got "inside" and EPERM.
 *
 * The race's fixture: d/secret.txt holds "inside" (6 bytes), d/lnk points
 * to "in-target"; outside, secret.txt holds "SECRET-OUTSIDE-0123456789"
 * (25 bytes), lnk points to "OUT-target", and there are files victim,
 * target and OUTSIDE_MARKER that d has not.
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ELOOP: return "ELOOP";
    case EROFS: return "EROFS";
    case ENOSYS: return "ENOSYS";
    case EXDEV: return "EXDEV";
    case EBADF: return "EBADF";
    case ENOTEMPTY: return "ENOTEMPTY";
#ifdef ENOTCAPABLE /* WASI's; a native build (to catch warnings) lacks it */
    case ENOTCAPABLE: return "ENOTCAPABLE";
#endif
    case EIO: return "EIO";
    default: return "EOTHER";
    }
}

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* unquote copies the text of the JSON string in (its \" and \\ escapes
 * undone) into buf: the host hands a plugin JSON text only, and some tests
 * need a bare text. Anything that is not a JSON string is returned as is. */
static const char *unquote(const char *in, char *buf, size_t n) {
    size_t i = 0;
    if (in == NULL || in[0] != '"')
        return in;
    for (in++; *in != 0 && *in != '"' && i + 1 < n; in++) {
        if (*in == '\\' && in[1] != 0)
            in++;
        buf[i++] = *in;
    }
    buf[i] = 0;
    return buf;
}

/* first_line reads fd's first line into buf (NUL-terminated, no newline). */
static int first_line(int fd, char *buf, size_t n) {
    ssize_t got = read(fd, buf, n - 1);
    if (got < 0)
        return -1;
    buf[got] = 0;
    buf[strcspn(buf, "\n")] = 0;
    return 0;
}

static const char *type_of(mode_t m) {
    if (S_ISLNK(m))
        return "lnk";
    if (S_ISDIR(m))
        return "dir";
    if (S_ISREG(m))
        return "reg";
    return "other";
}

/* op runs one operation; detail gets what it read. 0 or an errno. */
static int op(const char *name, const char *path, const char *arg, char *detail, size_t n) {
    detail[0] = 0;
    if (strcmp(name, "read") == 0) {
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            return errno;
        int r = first_line(fd, detail, n);
        int e = errno;
        close(fd);
        return r < 0 ? e : 0;
    }
    if (strcmp(name, "stat") == 0 || strcmp(name, "lstat") == 0) {
        struct stat st;
        if ((name[0] == 'l' ? lstat(path, &st) : stat(path, &st)) != 0)
            return errno;
        snprintf(detail, n, "%s:%lld", type_of(st.st_mode), (long long)st.st_size);
        return 0;
    }
    if (strcmp(name, "readlink") == 0) {
        ssize_t got = readlink(path, detail, n - 1);
        if (got < 0)
            return errno;
        detail[got] = 0;
        return 0;
    }
    if (strcmp(name, "mkdir") == 0)
        return mkdir(path, 0755) == 0 ? 0 : errno;
    if (strcmp(name, "rmdir") == 0)
        return rmdir(path) == 0 ? 0 : errno;
    if (strcmp(name, "unlink") == 0)
        return unlink(path) == 0 ? 0 : errno;
    if (strcmp(name, "rename") == 0)
        return rename(path, arg) == 0 ? 0 : errno;
    if (strcmp(name, "link") == 0)
        return link(path, arg) == 0 ? 0 : errno;
    if (strcmp(name, "symlink") == 0)
        return symlink(arg, path) == 0 ? 0 : errno;
    if (strcmp(name, "utimes") == 0) {
        struct timespec ts[2] = {{0, 0}, {0, 0}};
        return utimensat(AT_FDCWD, path, ts, 0) == 0 ? 0 : errno;
    }
    if (strcmp(name, "creat") == 0) {
        int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd < 0)
            return errno;
        int e = write(fd, "x", 1) == 1 ? 0 : errno;
        close(fd);
        return e;
    }
    if (strcmp(name, "opendir") == 0) {
        DIR *d = opendir(path);
        if (d == NULL)
            return errno;
        struct dirent *de;
        size_t used = 0;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            int w = snprintf(detail + used, n - used, "%s%s", used ? "," : "", de->d_name);
            if (w < 0 || (size_t)w >= n - used)
                break;
            used += (size_t)w;
        }
        closedir(d);
        return 0;
    }
    if (strcmp(name, "openat") == 0) {
        int dfd = open(path, O_RDONLY | O_DIRECTORY);
        if (dfd < 0)
            return errno;
        int fd = openat(dfd, arg, O_RDONLY);
        int e = errno;
        close(dfd);
        if (fd < 0)
            return e;
        int r = first_line(fd, detail, n);
        e = errno;
        close(fd);
        return r < 0 ? e : 0;
    }
    return EINVAL;
}

static void logf_(ClawaContext *ctx, uint8_t level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void logf_(ClawaContext *ctx, uint8_t level, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ctx->log(ctx, level, line);
}

/* The probe's counters, per operation. */
enum { P_READ, P_STAT, P_LSTAT, P_READLINK, P_OPENDIR, P_OPENAT, P_UNLINK, P_RENAME, P_LINK, P_MKDIR, P_CREAT, P_UTIMES, P_N };
static const char *pname[P_N] = {"read", "stat", "lstat", "readlink", "opendir", "openat", "unlink", "rename", "link", "mkdir", "creat", "utimes"};
static long in[P_N], err[P_N], leak[P_N], eperm;

static void count(int p, int e, int inside, int leaked) {
    if (e != 0)
        err[p]++;
    else if (leaked)
        leak[p]++;
    else if (inside)
        in[p]++;
}

static void probe_round(void) {
    char d[256];
    int e;

    e = op("read", "d/secret.txt", NULL, d, sizeof d);
    if (e == EPERM)
        eperm++;
    count(P_READ, e, strcmp(d, "inside") == 0, e == 0 && strcmp(d, "inside") != 0);

    e = op("stat", "d/secret.txt", NULL, d, sizeof d);
    count(P_STAT, e, strcmp(d, "reg:6") == 0, e == 0 && strcmp(d, "reg:6") != 0);

    e = op("lstat", "d/secret.txt", NULL, d, sizeof d);
    count(P_LSTAT, e, strcmp(d, "reg:6") == 0, e == 0 && strcmp(d, "reg:6") != 0);

    e = op("readlink", "d/lnk", NULL, d, sizeof d);
    count(P_READLINK, e, strcmp(d, "in-target") == 0, e == 0 && strcmp(d, "in-target") != 0);

    e = op("opendir", "d", NULL, d, sizeof d);
    count(P_OPENDIR, e, 1, e == 0 && (strstr(d, "OUTSIDE_MARKER") != NULL || strstr(d, "victim") != NULL));

    e = op("openat", "d", "secret.txt", d, sizeof d);
    count(P_OPENAT, e, strcmp(d, "inside") == 0, e == 0 && strcmp(d, "inside") != 0);

    /* Neither exists in d: any success is the outside's. */
    e = op("unlink", "d/victim", NULL, d, sizeof d);
    count(P_UNLINK, e, 0, e == 0);
    e = op("rename", "d/target", "d/moved", d, sizeof d);
    count(P_RENAME, e, 0, e == 0);

    /* A hard link pulls a file into the grant: it must be d's. */
    e = op("link", "d/secret.txt", "stolen", d, sizeof d);
    if (e == 0) {
        char c[256];
        int r = op("read", "stolen", NULL, c, sizeof c);
        count(P_LINK, 0, r == 0 && strcmp(c, "inside") == 0, r == 0 && strcmp(c, "inside") != 0);
        unlink("stolen");
    } else {
        count(P_LINK, e, 0, 0);
    }

    /* What these do outside the host sees: the outside must not change. */
    e = op("mkdir", "d/made", NULL, d, sizeof d);
    count(P_MKDIR, e, 1, 0);
    rmdir("d/made");
    e = op("creat", "d/made.txt", NULL, d, sizeof d);
    count(P_CREAT, e, 1, 0);
    unlink("d/made.txt");
    e = op("utimes", "d/secret.txt", NULL, d, sizeof d);
    count(P_UTIMES, e, 1, 0);
}

__attribute__((unused)) static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                                                     const char *input) {
    (void)session;
    if (has_prefix(tool, "op:")) {
        char name[32], detail[512], arg[512];
        const char *path = strchr(tool + 3, ':');
        size_t len = path == NULL ? 0 : (size_t)(path - (tool + 3));
        if (path == NULL || len >= sizeof name)
            return CLAWA_ERROR_NOT_FOUND;
        memcpy(name, tool + 3, len);
        name[len] = 0;
        int e = op(name, path + 1, unquote(input, arg, sizeof arg), detail, sizeof detail);
        if (e != 0) {
            logf_(ctx, 3, "op:%s:err:%s", name, ename(e));
            return CLAWA_ERROR_CALLBACK_ERROR;
        }
        if (detail[0] != 0)
            logf_(ctx, 2, "op:%s:ok:%s", name, detail);
        else
            logf_(ctx, 2, "op:%s:ok", name);
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "swap") == 0) {
        long rounds = 0;
        while (rounds < 10000000L && access("stop", F_OK) != 0) {
            rename("d", "d.real");
            rename("evil", "d");
            rename("d", "evil");
            rename("d.real", "d");
            rounds++;
        }
        logf_(ctx, 2, "swap:rounds=%ld", rounds);
        return CLAWA_ERROR_NONE;
    }
    if (has_prefix(tool, "probe:")) {
        long k = strtol(tool + 6, NULL, 10), rounds = 0;
        memset(in, 0, sizeof in);
        memset(err, 0, sizeof err);
        memset(leak, 0, sizeof leak);
        eperm = 0;
        while (rounds < 200000L && (in[P_READ] < k || eperm < k)) {
            probe_round();
            rounds++;
        }
        for (int p = 0; p < P_N; p++)
            logf_(ctx, 2, "probe:%s:in=%ld:err=%ld:leak=%ld", pname[p], in[p], err[p], leak[p]);
        logf_(ctx, 2, "probe:rounds=%ld:in=%ld:refused=%ld", rounds, in[P_READ], eperm);
        return CLAWA_ERROR_NONE;
    }
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION,
    "wasm_fsrace",
    "1.0.0",
    NULL,
    NULL,
    NULL,
    NULL,
    on_tool_call,
    NULL,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
