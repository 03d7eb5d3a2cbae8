/*
 * bad_name_unterminated: the name points at 1024 bytes of 'a' with no NUL
 * anywhere. The host must read at most its bound (256 bytes) and refuse the
 * plugin with bad_name, without calling on_load.
 *
 * Variant -DTERMINATE_AT=<i> puts a NUL at index i instead, giving a name of
 * i bytes: 255 is the longest name the host accepts (256 bytes with its NUL;
 * on_load then returns success), 256 or more must be refused with bad_name.
 */
#include "clawd_plugin.h"

#include <string.h>

static char name[1024];

static ClawaError on_load(ClawaContext *ctx) {
#ifdef TERMINATE_AT
    ctx->log(ctx, 2, "on_load");
    return CLAWA_ERROR_NONE;
#else
    ctx->log(ctx, 4, "BUG: on_load of a plugin that must be refused");
    return CLAWA_ERROR_INIT_FAILED;
#endif
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, name, "1.0.0", on_load, 0, 0, 0, 0, 0, {0, 0, 0, 0, 0, 0, 0, 0},
};

/* Filled at run time: a string literal without its NUL trips newer
 * compilers' -Wunterminated-string-initialization. */
CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) {
    memset(name, 'a', sizeof name);
#ifdef TERMINATE_AT
    name[TERMINATE_AT] = '\0';
#endif
    return &table;
}
