/*
 * once_only: on_load succeeds once per mapping of the library and returns
 * CLAWA_ERROR_INIT_FAILED every later time, because on_unload does not
 * reset what on_load set. Built with -Wl,-z,nodelete (the tests do), the
 * library stays mapped after dlclose, as a Rust cdylib with live TLS
 * destructors does, so a second open in the same process fails: the
 * conformance check lifecycle.reopen must report it. Name "once_only",
 * version "1.0.0"; on_unload and on_tool_call only log their names.
 */
#include "clawd_plugin.h"

static int loaded;

static ClawaError on_load(ClawaContext *ctx) {
    if (loaded) {
        ctx->log(ctx, 4, "already loaded once");
        return CLAWA_ERROR_INIT_FAILED;
    }
    loaded = 1;
    ctx->log(ctx, 2, "on_load");
    return CLAWA_ERROR_NONE;
}

static void on_unload(ClawaContext *ctx) { ctx->log(ctx, 2, "on_unload"); }

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)session;
    (void)tool;
    (void)input;
    ctx->log(ctx, 2, "on_tool_call");
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "once_only", "1.0.0", on_load, on_unload, 0, 0, on_tool_call, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
