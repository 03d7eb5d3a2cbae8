/*
 * load_event: on_load sends the event "load.ready" with {} before it logs
 * anything, then logs "loaded". Name "load_event", version "1.0.0". The
 * event must reach the host named after the plugin, in the process
 * sandbox as in process.
 */
#include "clawd_plugin.h"

static ClawaError on_load(ClawaContext *ctx) {
    ClawaError r = ctx->send_event(ctx, "load.ready", "{}");
    ctx->log(ctx, 2, "loaded");
    return r;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "load_event", "1.0.0", on_load, 0, 0, 0, 0, 0, {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
