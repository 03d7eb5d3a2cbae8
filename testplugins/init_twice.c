/*
 * init_twice: clawd_plugin_init returns a different table on each call (two
 * static tables, alternately), both valid and alike: the host, which calls
 * init once per open, loads it; the conformance check init.idempotent must
 * report it. Name "init_twice", version "1.0.0"; on_tool_call only logs.
 */
#include "clawd_plugin.h"

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)session;
    (void)tool;
    (void)input;
    ctx->log(ctx, 2, "on_tool_call");
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin tables[2] = {
    {CLAWD_PLUGIN_ABI_VERSION, "init_twice", "1.0.0", 0, 0, 0, 0, on_tool_call, 0,
     {0, 0, 0, 0, 0, 0, 0, 0}},
    {CLAWD_PLUGIN_ABI_VERSION, "init_twice", "1.0.0", 0, 0, 0, 0, on_tool_call, 0,
     {0, 0, 0, 0, 0, 0, 0, 0}},
};

static unsigned calls;

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &tables[calls++ % 2]; }
