/*
 * ipcprobe: a plugin that goes for the host's System V shared memory,
 * as an attacker running as the host's uid would, for the tests of the
 * process sandbox's IPC namespace. on_tool_call acts on the tool and logs
 * (level 2) one line:
 *
 *   shmget:KEY   shmget(KEY, 0, 0): the segment of that key, if any;
 *                logs "shmget: ok" or "shmget: errno <E> (<name>)"
 *   shmat:ID     shmat(ID, SHM_RDONLY) without a lookup (ids are small
 *                and guessable); logs "shmat: read <text>", the segment's
 *                first bytes up to a NUL (at most 31), or the errno
 *   shm_own      a private segment of its own, made and removed; logs
 *                "shm_own: ok" or the errno
 *
 * ENOENT and EINVAL are logged by their names, others by strerror. It
 * returns 0 on success, CapabilityDenied for EPERM or EACCES, DaemonError
 * otherwise. Off Linux it logs "<tool>: not on this OS" and returns
 * DaemonError.
 *
 * Name "ipcprobe", version "1.0.0".
 */
#ifdef __linux__
#define _GNU_SOURCE
#endif

#include "clawd_plugin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef __linux__
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/shm.h>

static const char *errno_name(int e) {
    switch (e) {
    case ENOENT:
        return "ENOENT";
    case EINVAL:
        return "EINVAL";
    case EPERM:
        return "EPERM";
    case EACCES:
        return "EACCES";
    }
    return strerror(e);
}

static ClawaError fail(ClawaContext *ctx, const char *what, int e) {
    char line[160];
    snprintf(line, sizeof line, "%s: errno %d (%s)", what, e, errno_name(e));
    ctx->log(ctx, 2, line);
    return (e == EPERM || e == EACCES) ? CLAWA_ERROR_CAPABILITY_DENIED : CLAWA_ERROR_DAEMON_ERROR;
}

static ClawaError ok(ClawaContext *ctx, const char *what) {
    char line[64];
    snprintf(line, sizeof line, "%s: ok", what);
    ctx->log(ctx, 2, line);
    return CLAWA_ERROR_NONE;
}

static ClawaError shm_attach(ClawaContext *ctx, int id) {
    char text[32], line[64];
    const char *p = shmat(id, NULL, SHM_RDONLY);
    size_t n = 0;
    if (p == (const char *)-1)
        return fail(ctx, "shmat", errno);
    while (n < sizeof text - 1 && p[n] != '\0') {
        text[n] = p[n];
        n++;
    }
    text[n] = '\0';
    shmdt(p);
    snprintf(line, sizeof line, "shmat: read %s", text);
    ctx->log(ctx, 2, line);
    return CLAWA_ERROR_NONE;
}

static ClawaError shm_own(ClawaContext *ctx) {
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0)
        return fail(ctx, "shm_own", errno);
    shmctl(id, IPC_RMID, NULL);
    return ok(ctx, "shm_own");
}
#endif

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool, const char *input) {
    (void)session;
    (void)input;
#ifdef __linux__
    if (strncmp(tool, "shmget:", 7) == 0) {
        if (shmget((key_t)strtol(tool + 7, NULL, 10), 0, 0) < 0)
            return fail(ctx, "shmget", errno);
        return ok(ctx, "shmget");
    }
    if (strncmp(tool, "shmat:", 6) == 0)
        return shm_attach(ctx, (int)strtol(tool + 6, NULL, 10));
    if (strcmp(tool, "shm_own") == 0)
        return shm_own(ctx);
#endif
    {
        char line[96];
        snprintf(line, sizeof line, "%.40s: not on this OS", tool);
        ctx->log(ctx, 2, line);
        return CLAWA_ERROR_DAEMON_ERROR;
    }
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION,
    "ipcprobe",
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
