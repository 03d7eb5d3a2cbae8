/*
 * wasm_block: a plugin for the wasm runtime's tests of the points where a
 * guest can block or hold the host: WASI sleeps and clock polls, a spin,
 * deep recursion, a table grown without end. Built with
 * include/clawd_plugin_wasm.c (and -mreference-types for the table).
 *
 * on_tool_call, by tool name:
 *   sleep       sleep(3600): WASI poll_oneoff with a clock subscription
 *   nanosleep   nanosleep for an hour, again and again if it returns early
 *   poll        poll() with no descriptors and an hour's timeout
 *   spin        never returns
 *   deep        recursion 500 frames deep, again and again
 *   tgrow       grows an externref table by 64 Ki elements until it fails;
 *               logs "tgrow:<elements>" (returns 2), or "tgrow:none" when
 *               built without reference types
 *   count       logs "count:<n>", calls so far in this instance
 * Variants: -DSLEEP_ON_LOAD and -DSPIN_ON_LOAD (on_load sleeps an hour, or
 * spins), -DSPIN_IN_CTOR (a constructor, run by _initialize, spins),
 * -DSLEEP_IN_CTOR.
 * Built natively (as every test plugin is, to catch warnings), the table
 * is absent.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include "clawd_plugin.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int calls;

#if defined(__wasm__) && defined(__wasm_reference_types__)
static __externref_t tbl[0];
static int table_grow(int n) { return __builtin_wasm_table_grow(tbl, __builtin_wasm_ref_null_extern(), n); }
static int table_size(void) { return __builtin_wasm_table_size(tbl); }
#define HAVE_TABLE 1
#endif

static void hour(void) {
    struct timespec ts = {3600, 0};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void spin(void) {
    volatile unsigned long n = 0;
    for (;;)
        n++;
}

static int down(int n) {
    volatile char frame[32];
    frame[0] = (char)n;
    if (n <= 0)
        return frame[0];
    return down(n - 1) + frame[0];
}

#if defined(SPIN_IN_CTOR) || defined(SLEEP_IN_CTOR)
__attribute__((constructor)) static void ctor(void) {
#ifdef SPIN_IN_CTOR
    spin();
#else
    hour();
#endif
}
#endif

static ClawaError on_load(ClawaContext *ctx) {
    (void)ctx;
#ifdef SLEEP_ON_LOAD
    hour();
#endif
#ifdef SPIN_ON_LOAD
    spin();
#endif
    return CLAWA_ERROR_NONE;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool, const char *input) {
    char line[64];
    (void)session;
    (void)input;
    calls++;
    if (strcmp(tool, "sleep") == 0) {
        sleep(3600);
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "nanosleep") == 0) {
        hour();
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "poll") == 0) {
        for (;;)
            poll(NULL, 0, 3600 * 1000);
    }
    if (strcmp(tool, "spin") == 0)
        spin();
    if (strcmp(tool, "deep") == 0) {
        volatile int sum = 0;
        for (;;)
            sum += down(500);
    }
    if (strcmp(tool, "tgrow") == 0) {
#ifdef HAVE_TABLE
        while (table_grow(1 << 16) != -1) {
        }
        snprintf(line, sizeof line, "tgrow:%d", table_size());
#else
        snprintf(line, sizeof line, "tgrow:none");
#endif
        ctx->log(ctx, 3, line);
        return CLAWA_ERROR_CALLBACK_ERROR;
    }
    if (strcmp(tool, "count") == 0) {
        snprintf(line, sizeof line, "count:%d", calls);
        ctx->log(ctx, 2, line);
    }
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION,
    "wasm_block",
    "1.0.0",
    on_load,
    NULL,
    NULL,
    NULL,
    on_tool_call,
    NULL,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
