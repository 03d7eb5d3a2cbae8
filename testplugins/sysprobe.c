/*
 * sysprobe: a plugin that tries, inside the process sandbox, the system
 * calls the sandbox's seccomp filter refuses, the way an attacker would,
 * for the tests of that filter. on_tool_call acts on the tool and logs
 * (level 2) "<tool>: ok" or "<tool>: errno <E> (<name>)" (EPERM, EACCES, ENOSYS
 * and EINVAL by their names, others by strerror); it returns 0 on
 * success, CapabilityDenied for EPERM or EACCES, DaemonError otherwise.
 * A call marked (forked) runs in a child the plugin forks, which reports
 * its errno through a pipe: what it tries would replace, trace or move
 * the plugin's own process.
 *
 *   keyctl_search_u    keyctl(KEYCTL_SEARCH, @u, "user", "clawd-test-secret")
 *   keyctl_search_s    the same in @s, the session keyring
 *   keyctl_read_u      keyctl(KEYCTL_READ, @u): the ids of the user's keys
 *   keyctl_read_s      keyctl(KEYCTL_READ, @s)
 *   add_key            add_key("user", "clawd-probe", ..., @s)
 *   request_key        request_key("user", "clawd-probe-absent")
 *   memfd_exec         memfd_create(MFD_EXEC)
 *   memfd_execveat     (forked) copies /proc/self/exe into a memfd made
 *                      without MFD_EXEC and runs it with execveat
 *                      (AT_EMPTY_PATH) and "-test.run=^$"
 *   execve             (forked) execve("/bin/true")
 *   bpf                bpf(BPF_MAP_CREATE) of a one-entry array
 *   perf_event_open    a software CPU clock counter on itself
 *   userfaultfd        userfaultfd(O_CLOEXEC)
 *   unshare            (forked) unshare(CLONE_NEWUSER)
 *   clone_newuser      clone(CLONE_NEWUSER|SIGCHLD) by its number; the
 *                      child exits at once
 *   setns              setns(open("/proc/self/ns/net"), 0)
 *   mount              mount("none", "/tmp", "tmpfs")
 *   ptrace_traceme     (forked) ptrace(PTRACE_TRACEME)
 *   ptrace_attach      ptrace(PTRACE_ATTACH) of a child of its own
 *   kexec_load         kexec_load(0, 0, NULL, 0)
 *   init_module        init_module of an empty image
 *   iopl               iopl(3) (x86-64)
 *   personality_rie    personality(READ_IMPLIES_EXEC)
 *   personality_anr    personality(ADDR_NO_RANDOMIZE)
 *   name_to_handle_at  name_to_handle_at("/")
 *   open_by_handle_at  open_by_handle_at with a handle name_to_handle_at
 *                      would give for "/" (type 1, inode 2: ext4's root)
 *   chmod              chmod of its own executable (the host's program, the
 *                      host's uid's file) to the mode it has (0755: group
 *                      and other bits, which the filter refuses)
 *   fchmod             the same through a descriptor opened for reading
 *   x32                keyctl(KEYCTL_GET_KEYRING_ID, @u) by its x32
 *                      number (x86-64)
 *   int80              keyctl(KEYCTL_GET_KEYRING_ID, @u) by the i386
 *                      table, int $0x80 (x86-64)
 * What the filter allows, for the counter-checks:
 *   fork               (forked) nothing: the child exits 0
 *   memfd              memfd_create(MFD_NOEXEC_SEAL)
 *   personality_query  personality(0xffffffff)
 *   chmod_home         creates $HOME/probe and chmods it to 0600
 *
 * Off Linux, or a tool of x86-64 elsewhere, logs "<tool>: not on this OS"
 * and returns DaemonError.
 *
 * Name "sysprobe", version "1.0.0".
 */
#ifdef __linux__
#define _GNU_SOURCE
#endif

#include "clawd_plugin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef __linux__
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* linux/keyctl.h, linux/memfd.h, linux/bpf.h, linux/perf_event.h and
 * linux/personality.h values, spelled out: no kernel headers needed. */
#define KEY_SPEC_SESSION_KEYRING (-3)
#define KEY_SPEC_USER_KEYRING (-4)
#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_SEARCH 10
#define KEYCTL_READ 11
#define P_MFD_CLOEXEC 0x1u
#define P_MFD_NOEXEC_SEAL 0x8u
#define P_MFD_EXEC 0x10u
#define P_CLONE_NEWUSER 0x10000000ul
#define P_READ_IMPLIES_EXEC 0x0400000ul
#define P_ADDR_NO_RANDOMIZE 0x0040000ul
#define P_PTRACE_TRACEME 0
#define P_PTRACE_ATTACH 16
#define X32_BIT 0x40000000L

/* errno_name names the errnos the tests tell apart, strerror the rest. */
static const char *errno_name(int e) {
    switch (e) {
    case EPERM:
        return "EPERM";
    case EACCES:
        return "EACCES";
    case ENOSYS:
        return "ENOSYS";
    case EINVAL:
        return "EINVAL";
    }
    return strerror(e);
}

static ClawaError report(ClawaContext *ctx, const char *what, long rc, int e) {
    char line[160];
    if (rc >= 0) {
        snprintf(line, sizeof line, "%s: ok", what);
        ctx->log(ctx, 2, line);
        return CLAWA_ERROR_NONE;
    }
    snprintf(line, sizeof line, "%s: errno %d (%s)", what, e, errno_name(e));
    ctx->log(ctx, 2, line);
    return (e == EPERM || e == EACCES) ? CLAWA_ERROR_CAPABILITY_DENIED : CLAWA_ERROR_DAEMON_ERROR;
}

/* in_child runs fn in a forked child and returns its errno (0: it
 * succeeded), or -1 with errno set if there is no child. */
static int in_child(int (*fn)(void)) {
    int p[2], e = 0, status;
    pid_t pid;
    if (pipe(p) != 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        e = fn();
        (void)!write(p[1], &e, sizeof e);
        _exit(0);
    }
    close(p[1]);
    if (read(p[0], &e, sizeof e) != (ssize_t)sizeof e)
        e = 0; /* the child's program replaced it (or it died): no errno */
    close(p[0]);
    waitpid(pid, &status, 0);
    if (e == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        e = ECHILD;
    return e;
}

static ClawaError forked(ClawaContext *ctx, const char *what, int (*fn)(void)) {
    int e = in_child(fn);
    if (e < 0)
        return report(ctx, what, -1, errno);
    return report(ctx, what, e == 0 ? 0 : -1, e);
}

static int do_execve(void) {
    char *argv[] = {"true", NULL};
    char *envp[] = {NULL};
    execve("/bin/true", argv, envp);
    return errno;
}

static int do_memfd_execveat(void) {
    char buf[65536];
    char *argv[] = {"probe", "-test.run=^$", NULL};
    char *envp[] = {NULL};
    ssize_t n;
    int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    int fd = (int)syscall(SYS_memfd_create, "probe", 0u);
    if (in < 0 || fd < 0)
        return errno;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(fd, buf, (size_t)n) != n)
            return errno;
    close(in);
    syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
    return errno;
}

static int do_unshare(void) { return syscall(SYS_unshare, P_CLONE_NEWUSER) == 0 ? 0 : errno; }

static int do_traceme(void) { return syscall(SYS_ptrace, P_PTRACE_TRACEME, 0, 0, 0) == 0 ? 0 : errno; }

static int do_nothing(void) { return 0; }

static ClawaError clone_newuser(ClawaContext *ctx) {
    /* Raw clone without CLONE_VM: the child runs on a copy of this stack
     * and leaves at once. */
    long pid = syscall(SYS_clone, P_CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    int e = errno;
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid((pid_t)pid, NULL, 0);
    return report(ctx, "clone_newuser", pid, e);
}

static ClawaError ptrace_attach(ClawaContext *ctx) {
    long rc;
    int e;
    pid_t pid = fork();
    if (pid < 0)
        return report(ctx, "ptrace_attach", -1, errno);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    rc = syscall(SYS_ptrace, P_PTRACE_ATTACH, pid, 0, 0);
    e = errno;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return report(ctx, "ptrace_attach", rc, e);
}

static ClawaError keyctl_probe(ClawaContext *ctx, const char *what, int op, int ring) {
    char buf[256];
    long rc;
    if (op == KEYCTL_SEARCH)
        rc = syscall(SYS_keyctl, KEYCTL_SEARCH, ring, "user", "clawd-test-secret", 0);
    else
        rc = syscall(SYS_keyctl, KEYCTL_READ, ring, buf, sizeof buf);
    return report(ctx, what, rc, errno);
}

static ClawaError bpf_map(ClawaContext *ctx) {
    /* union bpf_attr's map-create head: map_type, key_size, value_size,
     * max_entries (BPF_MAP_TYPE_ARRAY = 2); the rest zero. */
    unsigned int attr[32];
    memset(attr, 0, sizeof attr);
    attr[0] = 2;
    attr[1] = 4;
    attr[2] = 8;
    attr[3] = 1;
    long fd = syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof attr);
    int e = errno;
    if (fd >= 0)
        close((int)fd);
    return report(ctx, "bpf", fd, e);
}

static ClawaError perf_open(ClawaContext *ctx) {
    /* struct perf_event_attr's head: type (PERF_TYPE_SOFTWARE = 1),
     * size, config (PERF_COUNT_SW_CPU_CLOCK = 0); the rest zero. */
    unsigned char attr[128];
    unsigned int type = 1, size = sizeof attr;
    memset(attr, 0, sizeof attr);
    memcpy(attr, &type, 4);
    memcpy(attr + 4, &size, 4);
    long fd = syscall(SYS_perf_event_open, attr, 0, -1, -1, 0);
    int e = errno;
    if (fd >= 0)
        close((int)fd);
    return report(ctx, "perf_event_open", fd, e);
}

static ClawaError fd_probe(ClawaContext *ctx, const char *what, long fd) {
    int e = errno;
    if (fd >= 0)
        close((int)fd);
    return report(ctx, what, fd, e);
}

static ClawaError setns_probe(ClawaContext *ctx) {
    int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    long rc;
    int e;
    if (fd < 0)
        return report(ctx, "setns: open", -1, errno);
    rc = syscall(SYS_setns, fd, 0);
    e = errno;
    close(fd);
    return report(ctx, "setns", rc, e);
}

static ClawaError handle_probe(ClawaContext *ctx, int open_it) {
    /* struct file_handle: handle_bytes, handle_type, then the handle. */
    struct {
        unsigned int bytes;
        int type;
        unsigned char h[128];
    } fh;
    int mnt;
    memset(&fh, 0, sizeof fh);
    if (!open_it) {
        fh.bytes = sizeof fh.h;
        return report(ctx, "name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh, &mnt, 0), errno);
    }
    fh.bytes = 8;
    fh.type = 1; /* FILEID_INO32_GEN: inode 2, generation 0 */
    fh.h[0] = 2;
    return fd_probe(ctx, "open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY | O_CLOEXEC));
}

/* meta_probe changes the metadata of its own executable to what it is:
 * harmless, and proof that a mode could be changed. */
static ClawaError chmod_home(ClawaContext *ctx) {
    char path[4096];
    const char *home = getenv("HOME");
    int fd;
    if (home == NULL || snprintf(path, sizeof path, "%s/probe", home) >= (int)sizeof path)
        return report(ctx, "chmod_home: path", -1, ENAMETOOLONG);
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return report(ctx, "chmod_home: open", -1, errno);
    close(fd);
    return report(ctx, "chmod_home", syscall(SYS_fchmodat, AT_FDCWD, path, 0600ul, 0), errno);
}

static ClawaError meta_probe(ClawaContext *ctx, const char *tool) {
    char exe[4096];
    struct stat st;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    long rc;
    int fd, e;
    if (n <= 0 || stat("/proc/self/exe", &st) != 0)
        return report(ctx, "meta: stat", -1, errno);
    exe[n] = 0;
    if (strcmp(tool, "chmod") == 0)
        return report(ctx, tool, syscall(SYS_fchmodat, AT_FDCWD, exe, (unsigned long)(st.st_mode & 07777), 0), errno);
    fd = open(exe, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return report(ctx, "fchmod: open", -1, errno);
    rc = syscall(SYS_fchmod, fd, (unsigned long)(st.st_mode & 07777));
    e = errno;
    close(fd);
    return report(ctx, tool, rc, e);
}

#ifdef __x86_64__
/* int80 makes keyctl(KEYCTL_GET_KEYRING_ID, @u) through the i386 table
 * (keyctl is 288 there): the arch value the filter sees is i386's. */
static long int80_keyctl(void) {
    long rc;
    __asm__ volatile("int $0x80" : "=a"(rc) : "a"(288L), "b"((long)KEYCTL_GET_KEYRING_ID), "c"((long)KEY_SPEC_USER_KEYRING), "d"(0L) : "memory");
    return rc;
}
#endif

static ClawaError arch_probe(ClawaContext *ctx, const char *tool) {
#ifdef __x86_64__
    if (strcmp(tool, "iopl") == 0)
        return report(ctx, tool, syscall(SYS_iopl, 3), errno);
    if (strcmp(tool, "x32") == 0)
        return report(ctx, tool, syscall(X32_BIT | SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0), errno);
    if (strcmp(tool, "int80") == 0) {
        long rc = int80_keyctl();
        return report(ctx, tool, rc < 0 && rc > -4096 ? -1 : rc, rc < 0 && rc > -4096 ? (int)-rc : 0);
    }
#endif
    {
        char line[96];
        snprintf(line, sizeof line, "%.40s: not on this OS", tool);
        ctx->log(ctx, 2, line);
        return CLAWA_ERROR_DAEMON_ERROR;
    }
}
#endif

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool, const char *input) {
    (void)session;
    (void)input;
#ifdef __linux__
    if (strcmp(tool, "keyctl_search_u") == 0)
        return keyctl_probe(ctx, tool, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING);
    if (strcmp(tool, "keyctl_search_s") == 0)
        return keyctl_probe(ctx, tool, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING);
    if (strcmp(tool, "keyctl_read_u") == 0)
        return keyctl_probe(ctx, tool, KEYCTL_READ, KEY_SPEC_USER_KEYRING);
    if (strcmp(tool, "keyctl_read_s") == 0)
        return keyctl_probe(ctx, tool, KEYCTL_READ, KEY_SPEC_SESSION_KEYRING);
    if (strcmp(tool, "add_key") == 0)
        return report(ctx, tool, syscall(SYS_add_key, "user", "clawd-probe", "x", (size_t)1, KEY_SPEC_SESSION_KEYRING), errno);
    if (strcmp(tool, "request_key") == 0)
        return report(ctx, tool, syscall(SYS_request_key, "user", "clawd-probe-absent", NULL, 0), errno);
    if (strcmp(tool, "memfd_exec") == 0)
        return fd_probe(ctx, tool, syscall(SYS_memfd_create, "probe", P_MFD_CLOEXEC | P_MFD_EXEC));
    if (strcmp(tool, "memfd") == 0)
        return fd_probe(ctx, tool, syscall(SYS_memfd_create, "probe", P_MFD_CLOEXEC | P_MFD_NOEXEC_SEAL));
    if (strcmp(tool, "memfd_execveat") == 0)
        return forked(ctx, tool, do_memfd_execveat);
    if (strcmp(tool, "execve") == 0)
        return forked(ctx, tool, do_execve);
    if (strcmp(tool, "fork") == 0)
        return forked(ctx, tool, do_nothing);
    if (strcmp(tool, "bpf") == 0)
        return bpf_map(ctx);
    if (strcmp(tool, "perf_event_open") == 0)
        return perf_open(ctx);
    if (strcmp(tool, "userfaultfd") == 0)
        return fd_probe(ctx, tool, syscall(SYS_userfaultfd, O_CLOEXEC));
    if (strcmp(tool, "unshare") == 0)
        return forked(ctx, tool, do_unshare);
    if (strcmp(tool, "clone_newuser") == 0)
        return clone_newuser(ctx);
    if (strcmp(tool, "setns") == 0)
        return setns_probe(ctx);
    if (strcmp(tool, "mount") == 0)
        return report(ctx, tool, syscall(SYS_mount, "none", "/tmp", "tmpfs", 0ul, NULL), errno);
    if (strcmp(tool, "ptrace_traceme") == 0)
        return forked(ctx, tool, do_traceme);
    if (strcmp(tool, "ptrace_attach") == 0)
        return ptrace_attach(ctx);
    if (strcmp(tool, "kexec_load") == 0)
        return report(ctx, tool, syscall(SYS_kexec_load, 0ul, 0ul, NULL, 0ul), errno);
    if (strcmp(tool, "init_module") == 0)
        return report(ctx, tool, syscall(SYS_init_module, "", 0ul, ""), errno);
    if (strcmp(tool, "personality_rie") == 0)
        return report(ctx, tool, syscall(SYS_personality, P_READ_IMPLIES_EXEC), errno);
    if (strcmp(tool, "personality_anr") == 0)
        return report(ctx, tool, syscall(SYS_personality, P_ADDR_NO_RANDOMIZE), errno);
    if (strcmp(tool, "personality_query") == 0)
        return report(ctx, tool, syscall(SYS_personality, 0xfffffffful), errno);
    if (strcmp(tool, "chmod_home") == 0)
        return chmod_home(ctx);
    if (strcmp(tool, "chmod") == 0 || strcmp(tool, "fchmod") == 0)
        return meta_probe(ctx, tool);
    if (strcmp(tool, "name_to_handle_at") == 0)
        return handle_probe(ctx, 0);
    if (strcmp(tool, "open_by_handle_at") == 0)
        return handle_probe(ctx, 1);
    return arch_probe(ctx, tool);
#else
    char line[96];
    snprintf(line, sizeof line, "%.40s: not on this OS", tool);
    ctx->log(ctx, 2, line);
    return CLAWA_ERROR_DAEMON_ERROR;
#endif
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION,
    "sysprobe",
    "1.0.0",
    NULL,
    NULL,
    NULL,
    NULL,
    on_tool_call,
    NULL,
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
