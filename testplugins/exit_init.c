/*
 * exit_init: clawd_plugin_init calls exit(3). For inspect/isolate: the
 * child process that opens it exits, and the parent must report it.
 */
#include "clawd_plugin.h"

#include <stdlib.h>

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) {
    exit(3);
}
