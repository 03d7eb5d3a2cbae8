/*
 * use_after_unload: on_unload keeps its context, and the library's
 * destructor (run by dlclose, after on_unload returned) logs through it and
 * sends an event: a use of a context after on_unload, which the host must
 * drop and count, and the conformance check lifecycle.unload_once must
 * report. Name "use_after_unload", version "1.0.0"; on_load and
 * on_tool_call only log their names.
 */
#include "clawd_plugin.h"

static ClawaContext *kept;

static ClawaError on_load(ClawaContext *ctx) {
    ctx->log(ctx, 2, "on_load");
    return CLAWA_ERROR_NONE;
}

static void on_unload(ClawaContext *ctx) {
    ctx->log(ctx, 2, "on_unload");
    kept = ctx; /* the bug: ctx is valid only until we return */
}

__attribute__((destructor)) static void after_unload(void) {
    if (kept) {
        kept->log(kept, 2, "log after on_unload");
        kept->send_event(kept, "use_after_unload.late", "{}");
    }
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
    CLAWD_PLUGIN_ABI_VERSION, "use_after_unload", "1.0.0", on_load, on_unload, 0, 0, on_tool_call,
    0, {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
