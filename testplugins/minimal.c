/*
 * minimal: the smallest valid plugin. Name "minimal", version "0.1.0", and
 * every callback NULL: the host must load it and skip every event (a call
 * returns success without entering the plugin).
 */
#include "clawd_plugin.h"

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "minimal", "0.1.0", 0, 0, 0, 0, 0, 0, {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
