/*
 * bad_args: on_tool_call hands the host's context functions arguments they
 * must survive. The host must not crash; it drops or sanitizes the bad log
 * lines and refuses each bad event with a non-zero code (needs network.relay
 * granted, or every send is refused with 3 before its arguments are looked
 * at). Calls, in order:
 *   log(2, NULL)
 *   log(200, "level 200")                (unknown level: logged at warn)
 *   log(2, "\xff\xfe invalid utf8")
 *   send_event(NULL, "{}")               label null_method
 *   send_event("m", NULL)                label null_params
 *   send_event("", "{}")                 label empty_method
 *   send_event("m", "[1,2]")             label array_params (not an object)
 *   send_event("m", "{bad json")         label bad_json
 *   send_event("m", "\xff")              label params_utf8
 *   send_event("m\xff", "{}")            label method_utf8
 *   send_event("ok", "{\"a\":1}")        label ok (valid: must return 0)
 * and after each send logs (level 2) "rc <label>=<code>". Returns 0.
 */
#include "clawd_plugin.h"

#include <stdio.h>

static void send(ClawaContext *ctx, const char *label, const char *method, const char *params) {
    char line[64];
    ClawaError rc = ctx->send_event(ctx, method, params);
    snprintf(line, sizeof line, "rc %s=%d", label, (int)rc);
    ctx->log(ctx, 2, line);
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)session;
    (void)tool;
    (void)input;
    ctx->log(ctx, 2, 0);
    ctx->log(ctx, 200, "level 200");
    ctx->log(ctx, 2, "\xff\xfe invalid utf8");
    send(ctx, "null_method", 0, "{}");
    send(ctx, "null_params", "m", 0);
    send(ctx, "empty_method", "", "{}");
    send(ctx, "array_params", "m", "[1,2]");
    send(ctx, "bad_json", "m", "{bad json");
    send(ctx, "params_utf8", "m", "\xff");
    send(ctx, "method_utf8", "m\xff", "{}");
    send(ctx, "ok", "ok", "{\"a\":1}");
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "bad_args", "1.0.0", 0, 0, 0, 0, on_tool_call, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
