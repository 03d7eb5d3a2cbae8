/*
 * null_name: name NULL and version "not-semver". The reference daemon loads
 * it, so the host must too, with warnings; the name falls back to the file
 * stem. on_load logs "on_load"; on_tool_call logs "on_tool_call" and returns
 * 0. Variant -DNULL_VERSION leaves the version NULL as well.
 */
#include "clawd_plugin.h"

#ifdef NULL_VERSION
#define VERSION 0
#else
#define VERSION "not-semver"
#endif

static ClawaError on_load(ClawaContext *ctx) {
    ctx->log(ctx, 2, "on_load");
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
    CLAWD_PLUGIN_ABI_VERSION, 0, VERSION, on_load, 0, 0, 0, on_tool_call, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
