/*
 * hello: the ClawD plugin example in C. It sets every callback, logs a
 * friendly line for each at info level, and on a tool call sends the event
 * "hello.tool_called" {"tool":"<name>"} (needs the network.relay capability).
 *
 * Build (from the repository root; `make examples` does this):
 *
 *     cc -shared -fPIC -fvisibility=hidden -Iinclude \
 *        examples/c/hello/hello.c -o examples/c/hello/libhello.so
 *
 * Lifetime rules, in short (include/clawd_plugin.h has the full text):
 *   - The table and its name/version strings are ours and must outlive the
 *     library: they are static.
 *   - ctx and every const char * argument belong to the host and are valid
 *     only until the callback returns: copy what you keep, never free them,
 *     never keep ctx.
 *   - Strings we pass to log and send_event are read before those return,
 *     so stack buffers are fine.
 *   - The reference daemon passes a NULL ctx to every callback: check it
 *     before ctx->log or ctx->send_event, and the plugin runs there too.
 */
#include "clawd_plugin.h"

#include <stdio.h>
#include <string.h>

/* Lines are cut at this size; a plugin must not assume its inputs are small
 * (input_json can be megabytes). */
#define LINE 512

/* Logs line at level; with a NULL ctx (the reference daemon's) says nothing. */
static void say_at(ClawaContext *ctx, uint8_t level, const char *line) {
    if (ctx != NULL)
        ctx->log(ctx, level, line);
}

static void say(ClawaContext *ctx, const char *line) { say_at(ctx, CLAWA_LOG_INFO, line); }

/* Appends s to out as a JSON string (quotes, backslashes and control bytes
 * escaped); returns 0 if it does not fit in cap bytes. */
static int json_string(char *out, size_t cap, const char *s) {
    size_t n = 0;
    if (cap < 3)
        return 0;
    out[n++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (n + 7 >= cap)
            return 0;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n++] = '"';
    out[n] = '\0';
    return 1;
}

/* Called once after clawd_plugin_init. The place to set up state; return
 * anything but CLAWA_ERROR_NONE and the host closes the library without
 * calling on_unload. */
static ClawaError on_load(ClawaContext *ctx) {
    say(ctx, "hello plugin loaded");
    return CLAWA_ERROR_NONE;
}

/* Called once before the library is closed, after every other call has
 * returned. Free what on_load set up. ctx is valid until we return. */
static void on_unload(ClawaContext *ctx) { say(ctx, "goodbye"); }

/* session_id is the host's memory, valid until we return: copied into
 * line by snprintf, which is all we keep of it. */
static ClawaError on_session_start(ClawaContext *ctx, const char *session_id) {
    char line[LINE];
    snprintf(line, sizeof line, "session %s started", session_id);
    say(ctx, line);
    return CLAWA_ERROR_NONE;
}

static ClawaError on_session_end(ClawaContext *ctx, const char *session_id) {
    char line[LINE];
    snprintf(line, sizeof line, "session %s ended", session_id);
    say(ctx, line);
    return CLAWA_ERROR_NONE;
}

/* All three strings are the host's, valid until we return. The event is
 * built in our own stack buffer; send_event reads it before it returns. */
static ClawaError on_tool_call(ClawaContext *ctx, const char *session_id, const char *tool_name,
                               const char *input_json) {
    char line[LINE], name[LINE / 2], params[LINE];
    ClawaError rc;
    (void)session_id;
    snprintf(line, sizeof line, "tool %s called with %s", tool_name, input_json);
    say(ctx, line);

    if (!json_string(name, sizeof name, tool_name)) {
        say_at(ctx, CLAWA_LOG_WARN, "tool name too long for the event");
        return CLAWA_ERROR_CALLBACK_ERROR;
    }
    snprintf(params, sizeof params, "{\"tool\":%s}", name);
    if (ctx == NULL) /* the reference daemon's: no one to send the event to */
        return CLAWA_ERROR_NONE;
    rc = ctx->send_event(ctx, "hello.tool_called", params);
    if (rc != CLAWA_ERROR_NONE) {
        /* Without network.relay the host answers CAPABILITY_DENIED: say so,
         * but the tool call itself still succeeds. */
        snprintf(line, sizeof line, "the host refused the event (ClawaError %d)", (int)rc);
        say_at(ctx, CLAWA_LOG_WARN, line);
    }
    return CLAWA_ERROR_NONE;
}

/* role is "user" or "assistant"; content_json a JSON text. Both the
 * host's, valid until we return. */
static ClawaError on_message(ClawaContext *ctx, const char *session_id, const char *role,
                             const char *content_json) {
    char line[LINE];
    (void)session_id;
    snprintf(line, sizeof line, "message from %s: %s", role, content_json);
    say(ctx, line);
    return CLAWA_ERROR_NONE;
}

/* Static: the host reads it until the library is closed. The reserved
 * slots must stay NULL. */
static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION,
    "hello",
    "1.0.0",
    on_load,
    on_unload,
    on_session_start,
    on_session_end,
    on_tool_call,
    on_message,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
