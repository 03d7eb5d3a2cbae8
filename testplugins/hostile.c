/*
 * hostile: a plugin that misbehaves on request, for the process sandbox's
 * tests. Every callback first prints "hostile: <callback>" to stdout (a
 * plugin that writes to stdout must not disturb the host's channel) and
 * logs (level 2) the callback's name. on_tool_call then acts on the tool:
 *
 *   ok             returns 0
 *   segv           writes through a NULL pointer
 *   abort          calls abort()
 *   exit0          calls exit(0)
 *   loop           spins forever
 *   alloc          mallocs and touches 16 MiB blocks until malloc fails,
 *                  logs "alloc: refused after <N> MiB", frees them all and
 *                  returns DaemonError
 *   alloc:M        the same, stopping after M MiB (rounded up to 16) if
 *                  malloc has not failed by then: logs "alloc: got all <M>
 *                  MiB" then
 *   read:PATH      opens PATH for reading; logs "read: ok" (returns 0) or
 *                  "read: errno <E> (<name>)" and returns CapabilityDenied
 *                  for EACCES/EPERM, NotFound for ENOENT, DaemonError else
 *   write:PATH     same, opening PATH for writing (created, truncated)
 *   connect:PORT   TCP connect to 127.0.0.1:PORT; logs "connect: ok" or
 *                  "connect: errno <E> (<name>)", codes as for read
 *   bind:PORT      TCP bind to 127.0.0.1:PORT; logs as connect
 *   send:METHOD    send_event(METHOD, input); returns its result
 *   kill_parent    kill(PARENT, SIGKILL), PARENT being getppid(), or in a PID
 *                  namespace (getppid() is 0) the host's pid from
 *                  /proc/self/status; logs "kill_parent: errno <E>"
 *                  on failure and returns its code as for read (EPERM:
 *                  CapabilityDenied; ESRCH, the host outside the namespace:
 *                  DaemonError)
 *   udp:PORT       UDP sendto 127.0.0.1:PORT; logs "udp: ok" or "udp: errno
 *                  <E> (<name>)", codes as for read
 *   raw            socket(AF_INET, SOCK_RAW, IPPROTO_ICMP); logs as udp ("raw")
 *   unix:PATH      connect to the named unix socket PATH; logs as udp ("unix")
 *   fds            logs "fds: 0:T 1:T ..." for every open descriptor but the
 *                  listing's own, T its /proc/self/fd target ("pipe" for a
 *                  pipe); returns 0
 *   env            logs "env: NAME NAME ..." (the names of its environment,
 *                  sorted); returns 0
 *   caps           logs "caps: " and the Cap*, NoNewPrivs and Seccomp lines
 *                  of /proc/self/status, "; "-separated; returns 0
 *
 * On Windows the tools that need POSIX (connect, bind, udp, raw, unix, fds,
 * caps, kill_parent) log "<tool>: not on windows" and return DaemonError.
 *
 * Name "hostile", version "1.0.0".
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE

#include "clawd_plugin.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <io.h>
#else
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#endif

static void say(ClawaContext *ctx, const char *what) {
    printf("hostile: %s\n", what);
    fflush(stdout);
    ctx->log(ctx, 2, what);
}

static ClawaError errno_code(int e) {
    if (e == EACCES || e == EPERM)
        return CLAWA_ERROR_CAPABILITY_DENIED;
    if (e == ENOENT)
        return CLAWA_ERROR_NOT_FOUND;
    return CLAWA_ERROR_DAEMON_ERROR;
}

static ClawaError report(ClawaContext *ctx, const char *what, int rc, int e) {
    char line[160];
    if (rc >= 0) {
        snprintf(line, sizeof line, "%s: ok", what);
        ctx->log(ctx, 2, line);
        return CLAWA_ERROR_NONE;
    }
    snprintf(line, sizeof line, "%s: errno %d (%s)", what, e, e == EACCES ? "EACCES" : strerror(e));
    ctx->log(ctx, 2, line);
    return errno_code(e);
}

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

#ifndef _WIN32
/* The parent's pid: in a PID namespace getppid() is 0, but the host's
 * /proc still names it. */
static pid_t host_pid(void) {
    pid_t p = getppid();
    char line[128];
    FILE *f;
    if (p != 0 || (f = fopen("/proc/self/status", "r")) == NULL)
        return p;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "PPid:", 5) == 0)
            p = (pid_t)atoi(line + 5);
    fclose(f);
    return p;
}

static ClawaError tcp(ClawaContext *ctx, const char *what, const char *port, int do_bind) {
    struct sockaddr_in a;
    int fd, rc, e;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return report(ctx, what, -1, errno);
    rc = do_bind ? bind(fd, (struct sockaddr *)&a, sizeof a) : connect(fd, (struct sockaddr *)&a, sizeof a);
    e = errno;
    close(fd);
    return report(ctx, what, rc, e);
}

static ClawaError udp(ClawaContext *ctx, const char *port) {
    struct sockaddr_in a;
    int fd, rc, e;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return report(ctx, "udp", -1, errno);
    rc = (int)sendto(fd, "leak", 4, 0, (struct sockaddr *)&a, sizeof a);
    e = errno;
    close(fd);
    return report(ctx, "udp", rc, e);
}

static ClawaError unix_connect(ClawaContext *ctx, const char *path) {
    struct sockaddr_un a;
    int fd, rc, e;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return report(ctx, "unix", -1, errno);
    rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    e = errno;
    close(fd);
    return report(ctx, "unix", rc, e);
}

static ClawaError list_fds(ClawaContext *ctx) {
    char line[4096] = "fds:", path[64], target[256];
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int fds[256], n = 0, i, j;
    if (d == NULL)
        return report(ctx, "fds", -1, errno);
    while ((de = readdir(d)) != NULL && n < 256) {
        if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
            fds[n++] = atoi(de->d_name);
    }
    for (i = 1; i < n; i++) /* insertion sort: readdir has no order */
        for (j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
            int t = fds[j];
            fds[j] = fds[j - 1];
            fds[j - 1] = t;
        }
    for (i = 0; i < n; i++) {
        ssize_t len;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fds[i]);
        len = readlink(path, target, sizeof target - 1);
        target[len < 0 ? 0 : len] = 0;
        if (has_prefix(target, "pipe:"))
            target[4] = 0;
        snprintf(line + strlen(line), sizeof line - strlen(line), " %d:%s", fds[i], target);
    }
    closedir(d);
    ctx->log(ctx, 2, line);
    return CLAWA_ERROR_NONE;
}

#endif

#ifndef _WIN32
extern char **environ;
#endif

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static ClawaError list_env(ClawaContext *ctx) {
    char line[8192] = "env:", *names[512];
    int n = 0, i;
    for (char **e = environ; *e != NULL && n < 512; e++) {
        size_t len = strcspn(*e, "=");
        names[n] = malloc(len + 1);
        if (names[n] != NULL) {
            memcpy(names[n], *e, len);
            names[n][len] = 0;
        }
        if (names[n] != NULL)
            n++;
    }
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    for (i = 0; i < n; i++) {
        snprintf(line + strlen(line), sizeof line - strlen(line), " %s", names[i]);
        free(names[i]);
    }
    ctx->log(ctx, 2, line);
    return CLAWA_ERROR_NONE;
}

#ifndef _WIN32
static ClawaError caps_status(ClawaContext *ctx) {
    char line[1024] = "caps:", buf[256];
    FILE *f = fopen("/proc/self/status", "r");
    int first = 1;
    if (f == NULL)
        return report(ctx, "caps", -1, errno);
    while (fgets(buf, sizeof buf, f) != NULL) {
        if (!has_prefix(buf, "Cap") && !has_prefix(buf, "NoNewPrivs:") && !has_prefix(buf, "Seccomp:"))
            continue;
        buf[strcspn(buf, "\n")] = 0;
        for (char *t = strchr(buf, '\t'); t != NULL; t = strchr(t, '\t'))
            *t = ' ';
        snprintf(line + strlen(line), sizeof line - strlen(line), "%s %s", first ? "" : ";", buf);
        first = 0;
    }
    fclose(f);
    ctx->log(ctx, 2, line);
    return CLAWA_ERROR_NONE;
}
#endif

static ClawaError alloc_until_refused(ClawaContext *ctx, int most) {
    enum { BLOCK = 16 << 20, MAXBLOCKS = 4096 };
    static void *blocks[MAXBLOCKS];
    int n = 0, i, limit = MAXBLOCKS;
    char line[96];
    if (most > 0 && (most + 15) / 16 < MAXBLOCKS)
        limit = (most + 15) / 16;
    while (n < limit) {
        void *p = malloc(BLOCK);
        if (p == NULL)
            break;
        memset(p, 0xA5, BLOCK); /* touched: really in use */
        blocks[n++] = p;
    }
    if (n == limit && most > 0)
        snprintf(line, sizeof line, "alloc: got all %d MiB", n * 16);
    else
        snprintf(line, sizeof line, "alloc: refused after %d MiB", n * 16);
    for (i = 0; i < n; i++)
        free(blocks[i]);
    ctx->log(ctx, 2, line);
    return CLAWA_ERROR_DAEMON_ERROR;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)session;
    say(ctx, "on_tool_call");
    if (strcmp(tool, "ok") == 0)
        return CLAWA_ERROR_NONE;
    if (strcmp(tool, "segv") == 0) {
        static int *volatile nowhere; /* volatile: a real fault, not a trap */
        *nowhere = 1;
    }
    if (strcmp(tool, "abort") == 0)
        abort();
    if (strcmp(tool, "exit0") == 0)
        exit(0);
    if (strcmp(tool, "loop") == 0) {
        volatile unsigned long spin = 0;
        for (;;)
            spin++;
    }
    if (strcmp(tool, "alloc") == 0)
        return alloc_until_refused(ctx, 0);
    if (has_prefix(tool, "alloc:"))
        return alloc_until_refused(ctx, atoi(tool + 6));
    if (has_prefix(tool, "read:")) {
        int fd = open(tool + 5, O_RDONLY);
        int e = errno;
        if (fd >= 0)
            close(fd);
        return report(ctx, "read", fd, e);
    }
    if (has_prefix(tool, "write:")) {
        int fd = open(tool + 6, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = errno;
        if (fd >= 0) {
            if (write(fd, "written\n", 8) != 8)
                e = errno, close(fd), fd = -1;
            else
                close(fd);
        }
        return report(ctx, "write", fd, e);
    }
    if (has_prefix(tool, "send:"))
        return ctx->send_event(ctx, tool + 5, input);
    if (strcmp(tool, "env") == 0)
        return list_env(ctx);
#ifdef _WIN32
    if (has_prefix(tool, "connect:") || has_prefix(tool, "bind:") || has_prefix(tool, "udp:") ||
        strcmp(tool, "raw") == 0 || has_prefix(tool, "unix:") || strcmp(tool, "fds") == 0 ||
        strcmp(tool, "caps") == 0 || strcmp(tool, "kill_parent") == 0) {
        char line[96];
        snprintf(line, sizeof line, "%.*s: not on windows", (int)strcspn(tool, ":"), tool);
        ctx->log(ctx, 2, line);
        return CLAWA_ERROR_DAEMON_ERROR;
    }
#else
    if (has_prefix(tool, "connect:"))
        return tcp(ctx, "connect", tool + 8, 0);
    if (has_prefix(tool, "bind:"))
        return tcp(ctx, "bind", tool + 5, 1);
    if (has_prefix(tool, "udp:"))
        return udp(ctx, tool + 4);
    if (strcmp(tool, "raw") == 0) {
        int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
        int e = errno;
        if (fd >= 0)
            close(fd);
        return report(ctx, "raw", fd, e);
    }
    if (has_prefix(tool, "unix:"))
        return unix_connect(ctx, tool + 5);
    if (strcmp(tool, "fds") == 0)
        return list_fds(ctx);
    if (strcmp(tool, "caps") == 0)
        return caps_status(ctx);
    if (strcmp(tool, "kill_parent") == 0) {
        int rc = kill(host_pid(), SIGKILL);
        return report(ctx, "kill_parent", rc, errno);
    }
#endif
    return CLAWA_ERROR_NOT_FOUND;
}

static ClawaError on_load(ClawaContext *ctx) {
    say(ctx, "on_load");
    return CLAWA_ERROR_NONE;
}

static void on_unload(ClawaContext *ctx) { say(ctx, "on_unload"); }

static ClawaError on_session_start(ClawaContext *ctx, const char *session) {
    (void)session;
    say(ctx, "on_session_start");
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION,
    "hostile",
    "1.0.0",
    on_load,
    on_unload,
    on_session_start,
    NULL,
    on_tool_call,
    NULL,
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
