/*
 * thread_after_close: on_tool_call "start:IN:OUT" starts a thread that runs
 * the plugin's own code after the host closed the plugin. The thread writes
 * 'r' to fd OUT once it runs, then for each byte read from fd IN writes the
 * byte with its case flipped to OUT; it ends when IN reaches end of file.
 * on_unload does not stop it (the bug): a byte written to IN after Close
 * makes the thread return from read() into the library, which crashes the
 * host if the library was unmapped, and answers on OUT if it was kept.
 * Name "thread_after_close", version "1.0.0".
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fd_in = -1, fd_out = -1;

static void *worker(void *arg) {
    char b = 'r';
    (void)arg;
    if (write(fd_out, &b, 1) != 1)
        return 0;
    for (;;) {
        ssize_t n = read(fd_in, &b, 1); /* returns into this library */
        if (n != 1)
            return 0;
        b ^= 0x20;
        if (write(fd_out, &b, 1) != 1)
            return 0;
    }
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    pthread_t t;
    (void)session;
    (void)input;
    if (sscanf(tool, "start:%d:%d", &fd_in, &fd_out) != 2)
        return CLAWA_ERROR_CALLBACK_ERROR;
    if (pthread_create(&t, 0, worker, 0) != 0)
        return CLAWA_ERROR_DAEMON_ERROR;
    pthread_detach(t);
    ctx->log(ctx, 2, "thread started");
    return CLAWA_ERROR_NONE;
}

static void on_unload(ClawaContext *ctx) {
    ctx->log(ctx, 2, "on_unload leaves the thread running");
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "thread_after_close", "1.0.0", 0, on_unload, 0, 0, on_tool_call, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
