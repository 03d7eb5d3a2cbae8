/*
 * slow: on_load sleeps 120 ms and every event callback sleeps 12 ms, over
 * the conformance suite's budgets (100 ms for open plus on_load, 10 ms per
 * callback): timing.load and timing.callbacks must warn, nothing may fail.
 * Name "slow", version "1.0.0".
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <time.h>

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static ClawaError on_load(ClawaContext *ctx) {
    sleep_ms(120);
    ctx->log(ctx, 2, "loaded, slowly");
    return CLAWA_ERROR_NONE;
}

static ClawaError on_session(ClawaContext *ctx, const char *session) {
    (void)ctx;
    (void)session;
    sleep_ms(12);
    return CLAWA_ERROR_NONE;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)ctx;
    (void)session;
    (void)tool;
    (void)input;
    sleep_ms(12);
    return CLAWA_ERROR_NONE;
}

static ClawaError on_message(ClawaContext *ctx, const char *session, const char *role,
                             const char *content) {
    (void)ctx;
    (void)session;
    (void)role;
    (void)content;
    sleep_ms(12);
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "slow", "1.0.0", on_load, 0, on_session, on_session, on_tool_call,
    on_message, {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
