/*
 * plugin_tu: a plugin written the way the header's comment says, in the
 * common subset of C99 and C++98, so include/layout_test.go can compile the
 * header as C99, C11, C++98 and C++17 with -pedantic -Werror, and check that
 * CLAWD_PLUGIN_EXPORT keeps clawd_plugin_init exported under
 * -fvisibility=hidden.
 */
#include "clawd_plugin.h"

static ClawaError on_load(ClawaContext *ctx) {
    ctx->log(ctx, CLAWA_LOG_INFO, "loaded");
    return ctx->send_event(ctx, "tu.loaded", "{}");
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "tu", "1.0.0", on_load, 0, 0, 0, 0, 0, {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
