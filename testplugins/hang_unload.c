/*
 * hang_unload: on_unload blocks on a read of a pipe the host gave it and
 * the host never writes. on_tool_call "block_on:FD" names the fd; on_unload
 * sends the event "hang_unload.blocking" (so the host knows it is inside),
 * then reads FD until end of file, then logs "on_unload released", sends
 * "hang_unload.released" and returns. The host must give up waiting (timeout) rather than hang.
 * Name "hang_unload", version "1.0.0".
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <stdio.h>
#include <unistd.h>

static int fd = -1;

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)ctx;
    (void)session;
    (void)input;
    if (sscanf(tool, "block_on:%d", &fd) != 1)
        return CLAWA_ERROR_CALLBACK_ERROR;
    return CLAWA_ERROR_NONE;
}

static void on_unload(ClawaContext *ctx) {
    char b;
    int rc = ctx->send_event(ctx, "hang_unload.blocking", "{}");
    if (rc != CLAWA_ERROR_NONE)
        ctx->log(ctx, 4, "send_event failed");
    while (read(fd, &b, 1) > 0) {
    }
    ctx->log(ctx, 2, "on_unload released");
    ctx->send_event(ctx, "hang_unload.released", "{}");
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "hang_unload", "1.0.0", 0, on_unload, 0, 0, on_tool_call, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
