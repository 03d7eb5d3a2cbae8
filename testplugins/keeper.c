/*
 * keeper: a plugin that keeps the context of one call and uses it from a
 * thread of its own at many random moments afterwards, while the host goes
 * on calling the plugin. It measures how often such a late use is taken
 * for a use of a later call. Name "keeper", version "1.0.0".
 *
 * on_tool_call by tool name:
 *   keep:<n>:<seed>  stores ctx (the bug: ctx is valid only until the call
 *                    returns) and starts a thread that n times sleeps a
 *                    pseudo-random 0-99 us (xorshift from seed), then calls
 *                    kept->send_event(kept, "keeper.late", "{}") and counts
 *                    the code it gets: 0 accepted, 5 (DAEMON_ERROR) refused
 *                    as stale, anything else other. Returns 2
 *                    (CALLBACK_ERROR) if a thread was already started, n is
 *                    not 1..1000000 or the thread cannot be created.
 *   tick             returns 0 while the thread runs, 4 (NOT_FOUND) once it
 *                    has made its n uses.
 *   report           joins the thread and logs
 *                    "late:<accepted>:<refused>:<other>" through ctx.
 * anything else returns 0. on_unload joins the thread.
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static ClawaContext *kept;
static pthread_t late;
static int started;
static long uses;
static unsigned long long rng;
static long accepted, refused, other;
static int finished; /* written by the thread, read by tick: __atomic */

static unsigned long long next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void *late_use(void *arg) {
    long i;
    (void)arg;
    for (i = 0; i < uses; i++) {
        struct timespec ts = {0, (long)(next_rand() % 100) * 1000L};
        ClawaError rc;
        nanosleep(&ts, 0);
        rc = kept->send_event(kept, "keeper.late", "{}");
        if (rc == CLAWA_ERROR_NONE)
            accepted++;
        else if (rc == CLAWA_ERROR_DAEMON_ERROR)
            refused++;
        else
            other++;
    }
    __atomic_store_n(&finished, 1, __ATOMIC_RELEASE);
    return 0;
}

static void join_late(void) {
    if (started == 1) {
        pthread_join(late, 0);
        started = 2;
    }
}

static void on_unload(ClawaContext *ctx) {
    (void)ctx;
    join_late();
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    char line[96];
    (void)session;
    (void)input;
    if (tool == NULL)
        return CLAWA_ERROR_NONE;
    if (strncmp(tool, "keep:", 5) == 0) {
        char *end;
        uses = strtol(tool + 5, &end, 10);
        if (started || uses < 1 || uses > 1000000 || *end != ':')
            return CLAWA_ERROR_CALLBACK_ERROR;
        rng = strtoull(end + 1, 0, 10) | 1; /* xorshift needs a non-zero state */
        kept = ctx;
        if (pthread_create(&late, 0, late_use, 0) != 0)
            return CLAWA_ERROR_CALLBACK_ERROR;
        started = 1;
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "tick") == 0)
        return __atomic_load_n(&finished, __ATOMIC_ACQUIRE) ? CLAWA_ERROR_NOT_FOUND
                                                           : CLAWA_ERROR_NONE;
    if (strcmp(tool, "report") == 0) {
        join_late();
        snprintf(line, sizeof line, "late:%ld:%ld:%ld", accepted, refused, other);
        ctx->log(ctx, 2, line);
    }
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "keeper", "1.0.0", 0, on_unload, 0, 0, on_tool_call, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
