/*
 * missing_init: a shared library that exports a function, but not
 * clawd_plugin_init. The host must refuse it with missing_init.
 */
#include "clawd_plugin.h"

CLAWD_PLUGIN_VISIBLE int clawd_plugin_init_v0(void);

CLAWD_PLUGIN_VISIBLE int clawd_plugin_init_v0(void) { return 1; }
