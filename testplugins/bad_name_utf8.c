/*
 * bad_name_utf8: the name "bad\xff\xfename" is not UTF-8. The host must
 * refuse it with bad_name before calling on_load.
 */
#include "clawd_plugin.h"

/* Runs only if the host wrongly accepts the table: the load then fails
 * with a "BUG" line instead of passing. */
static ClawaError on_load(ClawaContext *ctx) {
    ctx->log(ctx, 4, "BUG: on_load of a plugin that must be refused");
    return CLAWA_ERROR_INIT_FAILED;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "bad" "\xff\xfe" "name", "1.0.0", on_load, 0, 0, 0, 0, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
