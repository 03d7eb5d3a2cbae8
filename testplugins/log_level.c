/*
 * log_level: on_tool_call logs "level nine" at level 9, which ABI v1 does
 * not define (0 trace to 4 error). The host logs it at warn with the raw
 * level; the conformance check context.log_levels must report it. Name
 * "log_level", version "1.0.0"; on_load logs "on_load" at level 2.
 */
#include "clawd_plugin.h"

static ClawaError on_load(ClawaContext *ctx) {
    ctx->log(ctx, CLAWA_LOG_INFO, "on_load");
    return CLAWA_ERROR_NONE;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)session;
    (void)tool;
    (void)input;
    ctx->log(ctx, 9, "level nine");
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "log_level", "1.0.0", on_load, 0, 0, 0, on_tool_call, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
