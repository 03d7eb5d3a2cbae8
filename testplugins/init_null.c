/*
 * init_null: clawd_plugin_init returns NULL. The host must refuse it with
 * init_null (and close the library).
 */
#include "clawd_plugin.h"

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return 0; }
