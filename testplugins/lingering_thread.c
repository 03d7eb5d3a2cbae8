/*
 * lingering_thread: on_load starts a thread that never ends, and on_unload
 * does not stop it: after close the thread is still there, which the
 * conformance check lifecycle.threads must report. Name
 * "lingering_thread", version "1.0.0"; on_tool_call only logs its name.
 *
 * The thread runs libc's pause() directly, never the plugin's own code:
 * a thread that has not started yet when the host unmaps the library would
 * otherwise jump into unmapped memory (the crash the check warns about),
 * and the tests want the warning, not the crash. If a signal ends pause(),
 * the thread returns into libc and exits quietly.
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <pthread.h>
#include <unistd.h>

typedef void *(*start_fn)(void *);

static ClawaError on_load(ClawaContext *ctx) {
    pthread_t t;
    /* Through void (*)(void), the one cast -Wcast-function-type allows. */
    if (pthread_create(&t, 0, (start_fn)(void (*)(void))pause, 0) != 0)
        return CLAWA_ERROR_INIT_FAILED;
    pthread_detach(t);
    ctx->log(ctx, 2, "thread started");
    return CLAWA_ERROR_NONE;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)session;
    (void)tool;
    (void)input;
    ctx->log(ctx, 2, "on_tool_call");
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "lingering_thread", "1.0.0", on_load, 0, 0, 0, on_tool_call, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
