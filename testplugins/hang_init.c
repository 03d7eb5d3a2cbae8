/*
 * hang_init: a valid table whose on_load sleeps forever. For
 * inspect/isolate timeouts: the parent must kill the child and report
 * timeout. Name "hang_init", version "1.0.0".
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <time.h>

static ClawaError on_load(ClawaContext *ctx) {
    struct timespec ts;
    ctx->log(ctx, 2, "hanging");
    for (;;) {
        ts.tv_sec = 3600;
        ts.tv_nsec = 0;
        nanosleep(&ts, 0);
    }
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "hang_init", "1.0.0", on_load, 0, 0, 0, 0, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
