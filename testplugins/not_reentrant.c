/*
 * not_reentrant: on_tool_call is not safe to run on two threads at once,
 * and says so loudly: it counts the calls inside it and abort()s when it
 * finds another one there, after holding on for 2 ms to make the overlap
 * likely. Called one at a time (the host's default) it works. Declared
 * concurrent = true in a manifest, the conformance check
 * concurrency.threads must fail with "crashed: SIGABRT". Name
 * "not_reentrant", version "1.0.0".
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <stdlib.h>
#include <time.h>

static int inside;

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    struct timespec ts = {0, 2 * 1000000L};
    (void)ctx;
    (void)session;
    (void)tool;
    (void)input;
    if (__atomic_fetch_add(&inside, 1, __ATOMIC_SEQ_CST) != 0)
        abort();
    nanosleep(&ts, 0);
    __atomic_fetch_sub(&inside, 1, __ATOMIC_SEQ_CST);
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "not_reentrant", "1.0.0", 0, 0, 0, 0, on_tool_call, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
