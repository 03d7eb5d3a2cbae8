/*
 * bench: the cheapest plugin, for call benchmarks. Name "bench", version
 * "1.0.0". Every callback touches the first byte of each argument (so the
 * host must really pass them) and returns 0. on_tool_call with tool "log"
 * calls ctx->log(ctx, 1, "x") N times, and with tool "send" calls
 * ctx->send_event(ctx, "bench", "{}") N times, N being input_json read as a
 * decimal number: benchmarks of the two trampolines. With tool "spin" it
 * busy-waits input_json microseconds: a plugin with work to do, for the
 * host's fan-out benchmarks.
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <stdlib.h>
#include <time.h>

static volatile unsigned char sink; /* keeps the reads from being optimized out */

static ClawaError on_load(ClawaContext *ctx) {
    (void)ctx;
    return CLAWA_ERROR_NONE;
}

static ClawaError on_session(ClawaContext *ctx, const char *session) {
    (void)ctx;
    sink = (unsigned char)session[0];
    return CLAWA_ERROR_NONE;
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    sink = (unsigned char)(session[0] ^ tool[0] ^ input[0]);
    if (tool[0] == 'l' && tool[1] == 'o' && tool[2] == 'g' && tool[3] == '\0') {
        long i, n = strtol(input, NULL, 10);
        for (i = 0; i < n; i++)
            ctx->log(ctx, 1, "x");
    } else if (tool[0] == 's' && tool[1] == 'e' && tool[2] == 'n' && tool[3] == 'd' &&
               tool[4] == '\0') {
        long i, n = strtol(input, NULL, 10);
        for (i = 0; i < n; i++)
            ctx->send_event(ctx, "bench", "{}");
    } else if (tool[0] == 's' && tool[1] == 'p' && tool[2] == 'i' && tool[3] == 'n' &&
               tool[4] == '\0') {
        long long end = now_ns() + strtol(input, NULL, 10) * 1000LL;
        while (now_ns() < end) {
        }
    }
    return CLAWA_ERROR_NONE;
}

static ClawaError on_message(ClawaContext *ctx, const char *session, const char *role,
                             const char *content) {
    (void)ctx;
    sink = (unsigned char)(session[0] ^ role[0] ^ content[0]);
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "bench", "1.0.0", on_load, 0, on_session, on_session, on_tool_call,
    on_message, {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }

/*
 * The floor of the log benchmark: the same loop as tool "log", calling a
 * bare host function instead of ctx->log. Exported so the benchmark can
 * hand it the bare callback (CLAWD_PLUGIN_VISIBLE: on WebAssembly,
 * CLAWD_PLUGIN_EXPORT is the export named clawd_plugin_init).
 */
CLAWD_PLUGIN_VISIBLE void bench_log_loop(void (*fn)(ClawaContext *, uint8_t, const char *),
                                        ClawaContext *ctx, long n) {
    long i;
    for (i = 0; i < n; i++)
        fn(ctx, 1, "x");
}

/*
 * The physical floor of the tool call: C calling the vtable's on_tool_call
 * pointer n times, strings already in memory, no host in between.
 */
CLAWD_PLUGIN_VISIBLE void bench_tool_loop(ClawaError (*fn)(ClawaContext *, const char *, const char *,
                                                           const char *),
                                         ClawaContext *ctx, const char *session, const char *tool,
                                         const char *input, long n) {
    long i;
    for (i = 0; i < n; i++)
        fn(ctx, session, tool, input);
}
