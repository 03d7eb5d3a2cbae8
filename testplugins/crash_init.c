/*
 * crash_init: clawd_plugin_init writes through a NULL pointer (SIGSEGV).
 * For inspect/isolate: the child process that opens it dies, and the parent
 * must report the crash instead of dying with it.
 */
#include "clawd_plugin.h"

static int *volatile nowhere; /* volatile: a real fault, not a compiler trap */

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) {
    *nowhere = 1;
    return 0;
}
