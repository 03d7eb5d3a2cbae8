/*
 * signals: a plugin that installs its own signal handlers, as some C
 * libraries do. Name "signals", version "1.0.0".
 *
 * on_load installs, with sigaction and WITHOUT SA_ONSTACK, a SIGSEGV handler
 * and a SIGUSR1 handler, then logs "signals_installed". The host must save
 * the process's signal actions before dlopen/init/on_load, restore them
 * afterwards and warn; the conformance suite must report the plugin.
 * Variant -DSIGNALS_IN_CONSTRUCTOR installs them from a constructor, that
 * is during dlopen, and on_load only logs "on_load".
 *
 * If the plugin's SIGSEGV handler ever runs (the host did not restore Go's),
 * it writes "signals: plugin SIGSEGV handler ran" to stderr and _exit(86)s.
 * on_tool_call logs "usr1:<n>", how many SIGUSR1 the plugin's handler saw
 * (0 when the host restored its own action).
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t usr1_count;

static void on_segv(int sig) {
    static const char msg[] = "signals: plugin SIGSEGV handler ran\n";
    (void)sig;
    if (write(2, msg, sizeof msg - 1) < 0) {
        /* nothing more to do in a signal handler */
    }
    _exit(86);
}

static void on_usr1(int sig) {
    (void)sig;
    usr1_count++;
}

static void install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_ONSTACK, no SA_SIGINFO: what breaks Go */
    sa.sa_handler = on_segv;
    sigaction(SIGSEGV, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
}

#ifdef SIGNALS_IN_CONSTRUCTOR
__attribute__((constructor)) static void signals_ctor(void) { install(); }
#endif

static ClawaError on_load(ClawaContext *ctx) {
#ifdef SIGNALS_IN_CONSTRUCTOR
    ctx->log(ctx, 2, "on_load");
#else
    install();
    ctx->log(ctx, 2, "signals_installed");
#endif
    return CLAWA_ERROR_NONE;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    char line[32];
    (void)session;
    (void)tool;
    (void)input;
    snprintf(line, sizeof line, "usr1:%d", (int)usr1_count);
    ctx->log(ctx, 2, line);
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "signals", "1.0.0", on_load, 0, 0, 0, on_tool_call, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
