/*
 * keep_context: a plugin that keeps the context of a callback and uses it
 * after the callback returned, from a thread of its own: the bug the
 * conformance check context.stale exists for. Name "keep_context",
 * version "1.0.0".
 *
 * on_tool_call stores ctx and starts a thread that waits until the next
 * callback releases it, then calls the kept ctx->log(ctx, 2, "late log")
 * and ctx->send_event(ctx, "keep_context.late", "{}"): both on a stale
 * context, which the host must drop and count without crashing. The next
 * callback (on_tool_call, on_message or on_unload) releases the thread and
 * joins it before it goes on, so the late use always lands after the
 * keeping callback returned and before the next one returns, whatever the
 * machine's speed, and the thread never outlives the library. on_load,
 * on_unload and on_message also log their names.
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <pthread.h>

static ClawaContext *kept;
static pthread_t late;
static int running, released;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;

static void *late_use(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!released)
        pthread_cond_wait(&go, &mu);
    pthread_mutex_unlock(&mu);
    kept->log(kept, 2, "late log");
    kept->send_event(kept, "keep_context.late", "{}");
    return 0;
}

/* release_late lets the waiting thread use the kept context, and joins it. */
static void release_late(void) {
    if (!running)
        return;
    pthread_mutex_lock(&mu);
    released = 1;
    pthread_cond_signal(&go);
    pthread_mutex_unlock(&mu);
    pthread_join(late, 0);
    running = 0;
}

static ClawaError on_load(ClawaContext *ctx) {
    ctx->log(ctx, 2, "on_load");
    return CLAWA_ERROR_NONE;
}

static void on_unload(ClawaContext *ctx) {
    release_late();
    ctx->log(ctx, 2, "on_unload");
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)session;
    (void)tool;
    (void)input;
    release_late();
    kept = ctx; /* the bug: ctx is valid only until we return */
    released = 0;
    if (pthread_create(&late, 0, late_use, 0) == 0)
        running = 1;
    return CLAWA_ERROR_NONE;
}

static ClawaError on_message(ClawaContext *ctx, const char *session, const char *role,
                             const char *content) {
    (void)session;
    (void)role;
    (void)content;
    release_late();
    ctx->log(ctx, 2, "on_message");
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "keep_context", "1.0.0", on_load, on_unload, 0, 0, on_tool_call,
    on_message, {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
