/*
 * hook: a plugin that gives verdicts (hook.block, hook.intercept), driven
 * by its arguments so that one library serves every hook test and chains
 * of several copies. Name "hook", version "1.0.0".
 *
 * on_tool_call(tool = PLAN, input = {"n":K}) and on_message(content =
 * "PLAN K") act on PLAN[K] (K a decimal number; past the end of PLAN:
 * continue):
 *   C  continue: send nothing
 *   I  intercept: the input becomes {"n":K+1} (the content "PLAN K+1")
 *   B  block with the reason "blocked at K"
 *   E  send hook.block, then return CLAWA_ERROR_CALLBACK (2)
 *   S  send hook.block, then sleep 300 ms (a hook that overruns)
 *   X  send invalid payloads: hook.intercept {"inputs":{}} (tool) or
 *      {"text":"x"} (message), then hook.intercept {"input":5} (tool) or
 *      {"content":null} (message), then hook.frobnicate {}
 *   O  send hook.block from a thread of its own, joined before returning
 *   T  start a thread that waits until on_session_start("join") and then
 *      sends hook.block on this callback's context, long stale by then
 * After every hook event it sends it reports the answer with
 * send_event(ctx, "hooktest.rc", {"rc":RC,"k":K}) (needs network.relay).
 *
 * on_session_start("hook") sends hook.block itself (not a hook-capable
 * callback) and reports; on_session_start("join") releases and joins the
 * T thread and reports the thread's answer.
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go_on;
static int thread_rc = -1;
static ClawaContext *kept;
static pthread_t late;
static int running;

static void report(ClawaContext *ctx, ClawaError rc, int k) {
    char buf[64];
    snprintf(buf, sizeof buf, "{\"rc\":%d,\"k\":%d}", (int)rc, k);
    ctx->send_event(ctx, "hooktest.rc", buf);
}

static ClawaError block(ClawaContext *ctx, int k) {
    char buf[64];
    snprintf(buf, sizeof buf, "{\"reason\":\"blocked at %d\"}", k);
    ClawaError rc = ctx->send_event(ctx, "hook.block", buf);
    report(ctx, rc, k);
    return rc;
}

static void *own_thread(void *arg) {
    ClawaContext *ctx = arg;
    thread_rc = ctx->send_event(ctx, "hook.block", "{\"reason\":\"from a thread\"}");
    return 0;
}

static void *late_thread(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!go_on)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    thread_rc = kept->send_event(kept, "hook.block", "{\"reason\":\"too late\"}");
    return 0;
}

/* act runs PLAN[k]; next is the params_json of the intercept. */
static ClawaError act(ClawaContext *ctx, int msg, const char *plan, int k, const char *next) {
    char c = k >= 0 && (size_t)k < strlen(plan) ? plan[k] : 'C';
    ClawaError rc;
    pthread_t t;
    switch (c) {
    case 'I':
        rc = ctx->send_event(ctx, "hook.intercept", next);
        report(ctx, rc, k);
        break;
    case 'B':
        block(ctx, k);
        break;
    case 'E':
        block(ctx, k);
        return CLAWA_ERROR_CALLBACK_ERROR;
    case 'S': {
        struct timespec ts = {0, 300 * 1000000L};
        block(ctx, k);
        nanosleep(&ts, 0);
        break;
    }
    case 'X':
        rc = ctx->send_event(ctx, "hook.intercept", msg ? "{\"text\":\"x\"}" : "{\"inputs\":{}}");
        report(ctx, rc, k);
        rc = ctx->send_event(ctx, "hook.intercept", msg ? "{\"content\":null}" : "{\"input\":5}");
        report(ctx, rc, k);
        rc = ctx->send_event(ctx, "hook.frobnicate", "{}");
        report(ctx, rc, k);
        break;
    case 'O':
        thread_rc = -1;
        if (pthread_create(&t, 0, own_thread, ctx) == 0)
            pthread_join(t, 0);
        report(ctx, thread_rc, k);
        break;
    case 'T':
        if (!running) {
            kept = ctx; /* deliberately kept: used after the callback returned */
            go_on = 0;
            thread_rc = -1;
            if (pthread_create(&late, 0, late_thread, 0) == 0)
                running = 1;
        }
        break;
    }
    return CLAWA_ERROR_NONE;
}

static int number_after(const char *s, const char *key) {
    const char *p = strstr(s, key);
    return p ? atoi(p + strlen(key)) : -1;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    char next[64];
    int k = number_after(input, "\"n\":");
    (void)session;
    snprintf(next, sizeof next, "{\"input\":{\"n\":%d}}", k + 1);
    return act(ctx, 0, tool, k, next);
}

static ClawaError on_message(ClawaContext *ctx, const char *session, const char *role,
                             const char *content) {
    char plan[32], next[96];
    int k = -1;
    (void)session;
    (void)role;
    if (sscanf(content, "\"%31s %d\"", plan, &k) != 2)
        return CLAWA_ERROR_NONE;
    snprintf(next, sizeof next, "{\"content\":\"%s %d\"}", plan, k + 1);
    return act(ctx, 1, plan, k, next);
}

static void join_late(void) {
    if (running) {
        pthread_mutex_lock(&mu);
        go_on = 1;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&mu);
        pthread_join(late, 0);
        running = 0;
    }
}

static ClawaError on_session_start(ClawaContext *ctx, const char *session) {
    if (strcmp(session, "hook") == 0) {
        block(ctx, -1);
    } else if (strcmp(session, "join") == 0) {
        join_late();
        report(ctx, thread_rc, -1);
    }
    return CLAWA_ERROR_NONE;
}

static void on_unload(ClawaContext *ctx) {
    (void)ctx;
    join_late();
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "hook", "1.0.0", 0, on_unload, on_session_start, 0, on_tool_call,
    on_message, {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
