/*
 * tool_call_segv: on_tool_call writes through a NULL pointer (SIGSEGV) when
 * input_json is longer than 64 KiB, as a plugin that copies its input into
 * a fixed buffer might; smaller inputs return 0. Every other callback
 * returns 0. The conformance check callbacks.large_input must fail with
 * "crashed: SIGSEGV" and every other check must still run and pass. Name
 * "tool_call_segv", version "1.0.0".
 */
#include "clawd_plugin.h"

#include <string.h>

static ClawaError on_session(ClawaContext *ctx, const char *session) {
    (void)ctx;
    (void)session;
    return CLAWA_ERROR_NONE;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)session;
    (void)tool;
    if (strlen(input) > 64 * 1024) {
        static int *volatile nowhere; /* volatile: a real fault, not a trap */
        *nowhere = 1;
    }
    ctx->log(ctx, 2, "on_tool_call");
    return CLAWA_ERROR_NONE;
}

static ClawaError on_message(ClawaContext *ctx, const char *session, const char *role,
                             const char *content) {
    (void)ctx;
    (void)session;
    (void)role;
    (void)content;
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "tool_call_segv", "1.0.0", 0, 0, on_session, on_session,
    on_tool_call, on_message, {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
