/*
 * process_state: on_load changes state that belongs to the whole process:
 * the working directory (chdir "/"), the umask (077) and the environment
 * (setenv CLAWD_PROCESS_STATE_PLUGIN=1), and never puts them back. The
 * conformance check hygiene.cwd_env_umask must report all three. Name
 * "process_state", version "1.0.0"; on_tool_call only logs.
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static ClawaError on_load(ClawaContext *ctx) {
    if (chdir("/") != 0)
        return CLAWA_ERROR_INIT_FAILED;
    umask(077);
    setenv("CLAWD_PROCESS_STATE_PLUGIN", "1", 1);
    ctx->log(ctx, 2, "process state changed");
    return CLAWA_ERROR_NONE;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)session;
    (void)tool;
    (void)input;
    ctx->log(ctx, 2, "on_tool_call");
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "process_state", "1.0.0", on_load, 0, 0, 0, on_tool_call, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
