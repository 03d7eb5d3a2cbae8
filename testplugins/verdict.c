/*
 * verdict: a plugin that tries to give its verdict to a call other than
 * the one in flight on its thread. Name "verdict", version "1.0.0".
 * Every answer it gets is reported with send_event(ctx, "verdict.rc",
 * {"rc":RC}) on a live context (needs network.relay).
 *
 * on_tool_call acts on the tool name:
 *   block         hook.block on its own context: this call's verdict
 *   nest          keeps its context and sends "verdict.nest" {}: the test's
 *                 sink calls on_session_start("outer") back from inside it
 *   late          (threads) keeps its context and starts a thread that
 *                 waits until on_tool_call("join"), then sends hook.block
 *                 on the kept context, long returned by then
 *   forge_late:P  (process sandbox) starts a thread that waits for a byte on
 *                 the FIFO P (the test writes one once this call returned),
 *                 then writes a hook.block event frame on the call channel
 *                 (fd 4) itself, with call token 0
 *   forge_other   (process sandbox) a thread of its own writes hook.block
 *                 event frames on the call channel while this call runs,
 *                 with call tokens 0 and 1, and is joined before returning
 *   after_nested  sends "verdict.inner" {}: the test's sink calls
 *                 on_session_start("inner") back, which keeps its context;
 *                 then sends hook.block on that context, whose call has
 *                 returned, and reports the answer
 *   join          joins the thread of late or forge_late; reports the
 *                 answer late's thread got
 *
 * on_session_start("outer") sends hook.block on the context nest kept:
 * its call is in flight, but the sink's call runs. It reports the answer.
 *
 * The sandbox's frames: u32 body length, u8 kind (9: event), u8 op, 2
 * zero; an event's body: u32 seq (the call token), u32 method length,
 * method, params.
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <stdio.h>
#include <string.h>

#ifndef __wasm__
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>
#endif

static ClawaContext *kept;

static void report(ClawaContext *ctx, ClawaError rc) {
    char buf[32];
    snprintf(buf, sizeof buf, "{\"rc\":%d}", (int)rc);
    ctx->send_event(ctx, "verdict.rc", buf);
}

static ClawaError block(ClawaContext *ctx, const char *reason) {
    char buf[96];
    snprintf(buf, sizeof buf, "{\"reason\":\"%s\"}", reason);
    return ctx->send_event(ctx, "hook.block", buf);
}

#ifndef __wasm__
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go_on, running;
static pthread_t worker;
static int thread_rc = -1;
static char fifo[256];

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* forge writes an event frame hook.block with call token tok to fd 4. */
static void forge(uint32_t tok) {
    static const char method[] = "hook.block";
    static const char params[] = "{\"reason\":\"forged\"}";
    unsigned char f[128];
    size_t m = sizeof method - 1, p = sizeof params - 1, n = 8 + m + p, off = 0;
    put32(f, (uint32_t)n);
    f[4] = 9;
    f[5] = f[6] = f[7] = 0;
    put32(f + 8, tok);
    put32(f + 12, (uint32_t)m);
    memcpy(f + 16, method, m);
    memcpy(f + 16 + m, params, p);
    while (off < 8 + n) {
        ssize_t w = write(4, f + off, 8 + n - off);
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

static void *late_thread(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!go_on)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    thread_rc = block(kept, "too late");
    return 0;
}

static void *forge_late_thread(void *arg) {
    char c;
    FILE *f = fopen(fifo, "r"); /* blocks until the test opens it to write */
    (void)arg;
    if (f == NULL)
        return 0;
    if (fread(&c, 1, 1, f) == 1)
        forge(0);
    fclose(f);
    return 0;
}

static void *forge_other_thread(void *arg) {
    (void)arg;
    forge(0);
    forge(1);
    return 0;
}

static void start(void *(*fn)(void *)) {
    if (running)
        return;
    go_on = 0;
    thread_rc = -1;
    if (pthread_create(&worker, 0, fn, 0) == 0)
        running = 1;
}

static void join(void) {
    if (!running)
        return;
    pthread_mutex_lock(&mu);
    go_on = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(worker, 0);
    running = 0;
}
#endif

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)session;
    (void)input;
    if (strcmp(tool, "block") == 0) {
        report(ctx, block(ctx, "in flight"));
    } else if (strcmp(tool, "nest") == 0) {
        kept = ctx;
        report(ctx, ctx->send_event(ctx, "verdict.nest", "{}"));
        kept = 0;
    } else if (strcmp(tool, "after_nested") == 0) {
        kept = 0;
        report(ctx, ctx->send_event(ctx, "verdict.inner", "{}"));
        if (kept != 0)
            report(ctx, block(kept, "after the nested call"));
        kept = 0;
#ifndef __wasm__
    } else if (strcmp(tool, "late") == 0) {
        kept = ctx; /* deliberately kept: used after the callback returned */
        start(late_thread);
    } else if (strncmp(tool, "forge_late:", 11) == 0) {
        snprintf(fifo, sizeof fifo, "%s", tool + 11);
        start(forge_late_thread);
    } else if (strcmp(tool, "forge_other") == 0) {
        pthread_t t;
        if (pthread_create(&t, 0, forge_other_thread, 0) == 0)
            pthread_join(t, 0);
    } else if (strcmp(tool, "join") == 0) {
        join();
        report(ctx, thread_rc);
#endif
    }
    return CLAWA_ERROR_NONE;
}

static ClawaError on_session_start(ClawaContext *ctx, const char *session) {
    if (strcmp(session, "outer") == 0 && kept != 0)
        report(ctx, block(kept, "from a nested call"));
    else if (strcmp(session, "inner") == 0)
        kept = ctx; /* deliberately kept: after_nested uses it once this returned */
    return CLAWA_ERROR_NONE;
}

static void on_unload(ClawaContext *ctx) {
    (void)ctx;
#ifndef __wasm__
    join();
#endif
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "verdict", "1.0.0", 0, on_unload, on_session_start, 0, on_tool_call,
    0, {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
