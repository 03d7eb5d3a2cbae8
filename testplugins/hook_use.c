/*
 * hook_use: a plugin that blocks every tool call with hook.block, for the
 * conformance check context.hooks. Name "hook_use", version "1.0.0".
 *
 * Built with -DHOOK_OUTSIDE it also sends hook.block from on_session_start,
 * which is not a hook-capable callback; with -DHOOK_INVALID its
 * on_tool_call sends hook.intercept with {"inputs":{}}, which lacks the
 * "input" key, instead.
 */
#include "clawd_plugin.h"

static ClawaError on_session_start(ClawaContext *ctx, const char *session) {
    (void)session;
#ifdef HOOK_OUTSIDE
    ctx->send_event(ctx, "hook.block", "{\"reason\":\"not here\"}");
#else
    (void)ctx;
#endif
    return CLAWA_ERROR_NONE;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)session;
    (void)tool;
    (void)input;
#ifdef HOOK_INVALID
    ctx->send_event(ctx, "hook.intercept", "{\"inputs\":{}}");
#else
    ctx->send_event(ctx, "hook.block", "{\"reason\":\"no tools today\"}");
#endif
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "hook_use", "1.0.0", 0, 0, on_session_start, 0, on_tool_call, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
