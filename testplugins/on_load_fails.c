/*
 * on_load_fails: on_load logs "on_load failing" (level 2) and returns
 * CLAWA_ERROR_INIT_FAILED. The host must report on_load_failed and close the
 * library without calling on_unload: on_unload aborts the process.
 */
#include "clawd_plugin.h"

#include <stdio.h>
#include <stdlib.h>

static ClawaError on_load(ClawaContext *ctx) {
    ctx->log(ctx, 2, "on_load failing");
    return CLAWA_ERROR_INIT_FAILED;
}

static void on_unload(ClawaContext *ctx) {
    (void)ctx;
    fputs("BUG: on_unload after failed on_load\n", stderr);
    abort();
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "on_load_fails", "1.0.0", on_load, on_unload, 0, 0, 0, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
