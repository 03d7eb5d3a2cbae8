/*
 * tree: a plugin that starts processes that try to outlive it, for the
 * process sandbox's tests. Every pid it reports is the pid as the host
 * sees it (read from /proc/self, the host's /proc, since inside a PID
 * namespace getpid() says something else). on_tool_call acts on the tool:
 *
 *   sleeper    forks a child that sleeps; logs "sleeper <pid>", returns 0
 *   daemon     forks a child that calls setsid() and forks again, then
 *              exits; the grandchild sleeps; logs "daemon <pid>" (the
 *              grandchild), returns 0
 *   holder     forks a child that keeps every inherited descriptor (the
 *              host's pipes among them) and sleeps; logs "holder <pid>",
 *              then writes through a NULL pointer
 *   crash      sleeper, then writes through a NULL pointer
 *   hang       sleeper, then spins forever
 *   bomb       forks children that pause() until fork fails; logs
 *              "bomb <n> errno <e> pids <pid> <pid> ..." and returns 0
 *
 * With -DTREE_ON_LOAD, on_load starts a sleeper and a daemon, logging both.
 * Name "tree", version "1.0.0".
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE

#include "clawd_plugin.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* host_pid is this process's pid in the host's numbering. */
static int host_pid(void) {
    char buf[32];
    ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
    if (n <= 0)
        return (int)getpid();
    buf[n] = 0;
    return atoi(buf);
}

/* A child writes its host pid into fd w; the parent reads it. */
static void send_pid(int w) {
    int pid = host_pid();
    (void)!write(w, &pid, sizeof pid);
}

static int read_pid(int r) {
    int pid = 0;
    if (read(r, &pid, sizeof pid) != (ssize_t)sizeof pid)
        return -1;
    return pid;
}

static void logf_(ClawaContext *ctx, const char *fmt, int a) {
    char line[96];
    snprintf(line, sizeof line, fmt, a);
    ctx->log(ctx, 2, line);
}

/* sleeper forks a child that sleeps and returns its host pid. */
static int sleeper(void) {
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        send_pid(p[1]);
        close(p[1]);
        for (;;)
            sleep(1000);
    }
    close(p[1]);
    int pid = c < 0 ? -1 : read_pid(p[0]);
    close(p[0]);
    return pid;
}

/* daemon double-forks a setsid grandchild and returns its host pid. */
static int daemon_(void) {
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        setsid();
        if (fork() == 0) {
            send_pid(p[1]);
            close(p[1]);
            for (;;)
                sleep(1000);
        }
        _exit(0);
    }
    close(p[1]);
    int pid = c < 0 ? -1 : read_pid(p[0]);
    close(p[0]);
    if (c > 0)
        waitpid(c, NULL, 0);
    return pid;
}

static ClawaError on_load(ClawaContext *ctx) {
#ifdef TREE_ON_LOAD
    logf_(ctx, "sleeper %d", sleeper());
    logf_(ctx, "daemon %d", daemon_());
#else
    (void)ctx;
#endif
    return CLAWA_ERROR_NONE;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool, const char *input) {
    (void)session;
    (void)input;
    if (strcmp(tool, "sleeper") == 0) {
        logf_(ctx, "sleeper %d", sleeper());
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "daemon") == 0) {
        logf_(ctx, "daemon %d", daemon_());
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "holder") == 0) {
        /* A sleeper keeps the inherited descriptors: fork copies them all. */
        logf_(ctx, "holder %d", sleeper());
        *(volatile int *)0 = 1;
    }
    if (strcmp(tool, "crash") == 0) {
        logf_(ctx, "sleeper %d", sleeper());
        *(volatile int *)0 = 1;
    }
    if (strcmp(tool, "hang") == 0) {
        logf_(ctx, "sleeper %d", sleeper());
        for (volatile int spin = 0;; spin++)
            ;
    }
    if (strcmp(tool, "bomb") == 0) {
        static char line[8192];
        int p[2], n = 0, e = 0;
        if (pipe(p) != 0)
            return CLAWA_ERROR_DAEMON_ERROR;
        for (;;) {
            if (n >= 1000) /* a host without a bound: stop anyway */
                break;
            pid_t c = fork();
            if (c < 0) {
                e = errno;
                break;
            }
            if (c == 0) {
                close(p[0]);
                send_pid(p[1]);
                for (;;)
                    pause();
            }
            n++;
        }
        close(p[1]);
        int len = snprintf(line, sizeof line, "bomb %d errno %d pids", n, e);
        for (int i = 0; i < n; i++) {
            int pid = read_pid(p[0]);
            if (pid > 0 && len < (int)sizeof line - 16)
                len += snprintf(line + len, sizeof line - len, " %d", pid);
        }
        close(p[0]);
        ctx->log(ctx, 2, line);
        return CLAWA_ERROR_NONE;
    }
    return CLAWA_ERROR_NOT_FOUND;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION,
    "tree",
    "1.0.0",
    on_load,
    NULL,
    NULL,
    NULL,
    on_tool_call,
    NULL,
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
