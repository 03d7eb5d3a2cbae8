/*
 * stdout_noise: a valid plugin (name "stdout_noise", version "1.0.0", all
 * six callbacks, each returning 0) that writes to stdout, flushed, in
 * clawd_plugin_init and in every callback: "stdout_noise: <where>", and in
 * init also a line that looks like a protocol reply. A host that runs
 * plugins in a child process must not take the child's stdout for its own
 * channel, and inspect --json must still print exactly one object.
 */
#include "clawd_plugin.h"

#include <stdio.h>

static void noise(const char *where) {
    printf("stdout_noise: %s\n", where);
    fflush(stdout);
}

static ClawaError on_load(ClawaContext *ctx) {
    noise("on_load");
    ctx->log(ctx, 2, "on_load");
    return CLAWA_ERROR_NONE;
}

static void on_unload(ClawaContext *ctx) {
    (void)ctx;
    noise("on_unload");
}

static ClawaError on_session_start(ClawaContext *ctx, const char *session) {
    (void)ctx;
    (void)session;
    noise("on_session_start");
    return CLAWA_ERROR_NONE;
}

static ClawaError on_session_end(ClawaContext *ctx, const char *session) {
    (void)ctx;
    (void)session;
    noise("on_session_end");
    return CLAWA_ERROR_NONE;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)ctx;
    (void)session;
    (void)tool;
    (void)input;
    noise("on_tool_call");
    return CLAWA_ERROR_NONE;
}

static ClawaError on_message(ClawaContext *ctx, const char *session, const char *role,
                             const char *content) {
    (void)ctx;
    (void)session;
    (void)role;
    (void)content;
    noise("on_message");
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "stdout_noise", "1.0.0", on_load, on_unload, on_session_start,
    on_session_end, on_tool_call, on_message, {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) {
    noise("init");
    printf("{\"ok\":false,\"error\":{\"code\":\"noise\",\"message\":\"not from the host\"}}\n");
    fflush(stdout);
    return &table;
}
