/*
 * unknown_code: callbacks that return ClawaError values ABI v1 does not
 * define. The host must report unknown_code (never success, never a crash):
 * on_tool_call returns 42, on_session_start returns -1, on_message returns 6.
 * on_load succeeds; on_session_end is NULL.
 */
#include "clawd_plugin.h"

static ClawaError on_session_start(ClawaContext *ctx, const char *session) {
    (void)ctx;
    (void)session;
    return (ClawaError)-1;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)ctx;
    (void)session;
    (void)tool;
    (void)input;
    return (ClawaError)42;
}

static ClawaError on_message(ClawaContext *ctx, const char *session, const char *role,
                             const char *content) {
    (void)ctx;
    (void)session;
    (void)role;
    (void)content;
    return (ClawaError)6;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "unknown_code", "1.0.0", 0, 0, on_session_start, 0, on_tool_call,
    on_message, {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
