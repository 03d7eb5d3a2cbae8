/*
 * echo: a complete plugin that reports back exactly what it received, for
 * the loader, context and host tests.
 *
 * Every callback, in this order:
 *   1. logs (level 2) its own name: "on_load", "on_tool_call", ...
 *   2. logs each string argument raw, one line each, as "<field>:<bytes>"
 *      with field session, tool, input, role or content; an argument longer
 *      than 60000 bytes is logged as "<field>_len:<N>" and
 *      "<field>_fnv:<16 hex digits of FNV-1a 64>" instead;
 *   3. sends the event "echo.<callback>" with a JSON object
 *      {"cb":..., "session":..., "tool":..., "role":...,
 *       "input_len":N, "input_fnv":"...", "content_len":N, "content_fnv":"...",
 *       "version":...} (only the fields the callback has);
 *   4. logs the send_event result as "send_event:<code>".
 * on_load also logs "loads:<n>", how many times on_load ran in this mapping
 * of the library (a fresh copy says 1).
 *
 * on_tool_call then acts on the tool name (see the table at on_tool_call).
 * The host must grant network.relay for the sends to succeed.
 *
 * Variants: -DECHO_NAME="..." and -DECHO_VERSION="..." override name and
 * version ("echo", "1.0.0").
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef ECHO_NAME
#define ECHO_NAME "echo"
#endif
#ifndef ECHO_VERSION
#define ECHO_VERSION "1.0.0"
#endif

#define BIG 60000 /* longer arguments are summarized, not logged raw */

/* A growable byte buffer; every line and params object is built in one. */
typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} buf;

static void b_reserve(buf *b, size_t more) {
    size_t need = b->len + more + 1;
    char *p;
    if (b->oom || need <= b->cap)
        return;
    if (b->cap * 2 > need)
        need = b->cap * 2;
    p = (char *)realloc(b->p, need);
    if (p == NULL) {
        b->oom = 1;
        return;
    }
    b->p = p;
    b->cap = need;
}

static void b_putn(buf *b, const char *s, size_t n) {
    b_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void b_puts(buf *b, const char *s) { b_putn(b, s, strlen(s)); }

static void b_printf(buf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        b_putn(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* The string as a JSON string: escapes " \ and control bytes, passes every
 * other byte through (UTF-8 stays as it is). NULL becomes null. */
static void b_json(buf *b, const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    if (s == NULL) {
        b_puts(b, "null");
        return;
    }
    b_putn(b, "\"", 1);
    for (; *u; u++) {
        if (*u == '"' || *u == '\\') {
            char e[2];
            e[0] = '\\';
            e[1] = (char)*u;
            b_putn(b, e, 2);
        } else if (*u < 0x20) {
            b_printf(b, "\\u%04x", (unsigned)*u);
        } else {
            b_putn(b, (const char *)u, 1);
        }
    }
    b_putn(b, "\"", 1);
}

static void b_free(buf *b) { free(b->p); b->p = NULL; b->len = b->cap = 0; b->oom = 0; }

static unsigned long long fnv1a64(const char *s, size_t n) {
    unsigned long long h = 14695981039346656037ULL;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void logf_(ClawaContext *ctx, uint8_t level, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ctx->log(ctx, level, line);
}

/* Step 2: "<field>:<bytes>", or its length and hash when it is big. */
static void log_field(ClawaContext *ctx, const char *field, const char *s) {
    buf b = {0, 0, 0, 0};
    size_t n;
    if (s == NULL) {
        logf_(ctx, 2, "%s_null", field);
        return;
    }
    n = strlen(s);
    if (n > BIG) {
        logf_(ctx, 2, "%s_len:%lu", field, (unsigned long)n);
        logf_(ctx, 2, "%s_fnv:%016llx", field, fnv1a64(s, n));
        return;
    }
    b_puts(&b, field);
    b_putn(&b, ":", 1);
    b_putn(&b, s, n);
    if (b.oom)
        logf_(ctx, 4, "%s_oom", field);
    else
        ctx->log(ctx, 2, b.p);
    b_free(&b);
}

static void json_field(buf *b, const char *key, const char *s) {
    b_printf(b, ",\"%s\":", key);
    b_json(b, s);
}

static void json_size(buf *b, const char *key, const char *s) {
    size_t n = s ? strlen(s) : 0;
    b_printf(b, ",\"%s_len\":%lu,\"%s_fnv\":\"%016llx\"", key, (unsigned long)n, key,
             fnv1a64(s ? s : "", n));
}

/* Steps 3 and 4: finish the params object, send it, log the result. */
static ClawaError send_params(ClawaContext *ctx, const char *cb, buf *b) {
    char method[64];
    ClawaError rc;
    b_puts(b, ",\"version\":");
    b_json(b, ECHO_VERSION);
    b_puts(b, "}");
    snprintf(method, sizeof method, "echo.%s", cb);
    rc = b->oom ? CLAWA_ERROR_CALLBACK_ERROR : ctx->send_event(ctx, method, b->p);
    logf_(ctx, 2, "send_event:%d", (int)rc);
    b_free(b);
    return rc;
}

static void begin(ClawaContext *ctx, const char *cb, buf *b) {
    ctx->log(ctx, 2, cb);
    b_puts(b, "{\"cb\":");
    b_json(b, cb);
}

static int loads;           /* on_load calls in this mapping */
static ClawaContext *kept;  /* the context "keep" stored; stale afterwards */

static ClawaError on_load(ClawaContext *ctx) {
    buf b = {0, 0, 0, 0};
    begin(ctx, "on_load", &b);
    logf_(ctx, 2, "loads:%d", ++loads);
    json_field(&b, "name", ECHO_NAME);
    send_params(ctx, "on_load", &b);
    return CLAWA_ERROR_NONE;
}

static void on_unload(ClawaContext *ctx) {
    buf b = {0, 0, 0, 0};
    begin(ctx, "on_unload", &b);
    send_params(ctx, "on_unload", &b);
}

static ClawaError session_cb(ClawaContext *ctx, const char *cb, const char *session) {
    buf b = {0, 0, 0, 0};
    begin(ctx, cb, &b);
    log_field(ctx, "session", session);
    json_field(&b, "session", session);
    send_params(ctx, cb, &b);
    return CLAWA_ERROR_NONE;
}

static ClawaError on_session_start(ClawaContext *ctx, const char *session) {
    return session_cb(ctx, "on_session_start", session);
}

static ClawaError on_session_end(ClawaContext *ctx, const char *session) {
    return session_cb(ctx, "on_session_end", session);
}

static ClawaError on_message(ClawaContext *ctx, const char *session, const char *role,
                             const char *content) {
    buf b = {0, 0, 0, 0};
    begin(ctx, "on_message", &b);
    log_field(ctx, "session", session);
    log_field(ctx, "role", role);
    log_field(ctx, "content", content);
    json_field(&b, "session", session);
    json_field(&b, "role", role);
    json_size(&b, "content", content);
    send_params(ctx, "on_message", &b);
    return CLAWA_ERROR_NONE;
}

/* "threads:<n>": each thread logs 100 lines and sends 10 events. */
typedef struct {
    ClawaContext *ctx;
    int idx;
    int failures;
} worker;

static void *work(void *arg) {
    worker *w = (worker *)arg;
    int j;
    for (j = 0; j < 100; j++) {
        logf_(w->ctx, 2, "thread:%d:%d", w->idx, j);
        if (j % 10 == 0) {
            char params[64];
            snprintf(params, sizeof params, "{\"thread\":%d,\"seq\":%d}", w->idx, j / 10);
            if (w->ctx->send_event(w->ctx, "echo.thread", params) != CLAWA_ERROR_NONE)
                w->failures++;
        }
    }
    return NULL;
}

static ClawaError run_threads(ClawaContext *ctx, long n) {
    pthread_t *tids;
    worker *ws;
    long i, started = 0;
    int failures = 0;
    ClawaError rc = CLAWA_ERROR_NONE;
    if (n < 0 || n > 1024) {
        logf_(ctx, 4, "threads_bad_count:%ld", n);
        return CLAWA_ERROR_CALLBACK_ERROR;
    }
    tids = (pthread_t *)calloc((size_t)n + 1, sizeof *tids);
    ws = (worker *)calloc((size_t)n + 1, sizeof *ws);
    if (tids == NULL || ws == NULL) {
        free(tids);
        free(ws);
        return CLAWA_ERROR_CALLBACK_ERROR;
    }
    for (i = 0; i < n; i++) {
        int err;
        ws[i].ctx = ctx;
        ws[i].idx = (int)i;
        err = pthread_create(&tids[i], NULL, work, &ws[i]);
        if (err != 0) {
            logf_(ctx, 4, "thread_create_failed:%d", err);
            rc = CLAWA_ERROR_CALLBACK_ERROR;
            break;
        }
        started++;
    }
    /* Join every thread before returning: ctx is valid only until then. */
    for (i = 0; i < started; i++) {
        pthread_join(tids[i], NULL);
        failures += ws[i].failures;
    }
    logf_(ctx, 2, "threads_joined:%ld", started);
    logf_(ctx, 2, "thread_send_failures:%d", failures);
    free(tids);
    free(ws);
    return rc;
}

/* "use_kept": use the stale context from another thread. */
typedef struct {
    ClawaContext *ctx;
    ClawaError rc;
} stale_call;

static void *use_stale(void *arg) {
    stale_call *s = (stale_call *)arg;
    s->ctx->log(s->ctx, 2, "stale log");
    s->rc = s->ctx->send_event(s->ctx, "echo.stale", "{}");
    return NULL;
}

static ClawaError use_kept(ClawaContext *ctx, int on_thread) {
    stale_call s;
    pthread_t t;
    if (kept == NULL) {
        ctx->log(ctx, 4, "no_kept");
        return CLAWA_ERROR_NOT_FOUND;
    }
    /* If the host reuses context memory, the "stale" pointer may be the
     * current one; say so, so a test failure is easy to read. */
    logf_(ctx, 2, "kept_is_current:%d", kept == ctx);
    s.ctx = kept;
    s.rc = CLAWA_ERROR_NONE;
    if (on_thread) {
        if (pthread_create(&t, NULL, use_stale, &s) != 0)
            return CLAWA_ERROR_CALLBACK_ERROR;
        pthread_join(t, NULL);
    } else {
        use_stale(&s);
    }
    logf_(ctx, 2, "stale_send_event:%d", (int)s.rc);
    return CLAWA_ERROR_NONE;
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* unquote copies the text of the JSON string in (its \" and \\ escapes
 * undone) into buf: the host hands a plugin JSON text only, and some tests
 * need a bare text. Anything that is not a JSON string is returned as is. */
static const char *unquote(const char *in, char *buf, size_t n) {
    size_t i = 0;
    if (in == NULL || in[0] != '"')
        return in;
    for (in++; *in != 0 && *in != '"' && i + 1 < n; in++) {
        if (*in == '\\' && in[1] != 0)
            in++;
        buf[i++] = *in;
    }
    buf[i] = 0;
    return buf;
}

/*
 * on_tool_call echoes (session, tool, input), then by tool name:
 *   fail            returns 2 (CALLBACK_ERROR)
 *   notfound        returns 4 (NOT_FOUND)
 *   code:<n>        returns n as the ClawaError (42, -1, ...)
 *   log_levels      logs "level:<n>" at levels 0, 1, 2, 3, 4 and 200
 *   log:<level>     logs input_json raw at <level>
 *   send:<method>   sends input_json as params of <method>, logs
 *                   "send_event_custom:<code>"
 *   send_text:<method> the same with the text of input_json, a JSON
 *                   string, as params (params that are not JSON)
 *   reenter         sends "echo.reenter" {"cb":"reenter"} (the test's sink
 *                   calls back into the plugin), logs "reenter_send_event:<code>"
 *   threads:<n>     n pthreads, each logging "thread:<i>:<j>" (j 0..99) and
 *                   sending "echo.thread" {"thread":i,"seq":k} (k 0..9);
 *                   joins them, logs "threads_joined:<n>" and
 *                   "thread_send_failures:<count of non-zero sends>"
 *   keep            stores ctx in a global, logs "kept"
 *   use_kept        from a new thread (joined): kept->log "stale log" and
 *                   kept->send_event "echo.stale" {}; logs through the
 *                   current ctx "kept_is_current:<0|1>" and
 *                   "stale_send_event:<code>"; 4 and "no_kept" if nothing kept
 *   use_kept_inline the same on the calling thread
 *   sleep:<ms>      sleeps, then logs "slept:<ms>"
 *   crash           writes through a NULL pointer (SIGSEGV)
 *   abort           calls abort() (SIGABRT)
 * anything else     returns 0
 */
static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    buf b = {0, 0, 0, 0};
    ClawaError rc;
    begin(ctx, "on_tool_call", &b);
    log_field(ctx, "session", session);
    log_field(ctx, "tool", tool);
    log_field(ctx, "input", input);
    json_field(&b, "session", session);
    json_field(&b, "tool", tool);
    json_size(&b, "input", input);
    send_params(ctx, "on_tool_call", &b);

    if (tool == NULL)
        return CLAWA_ERROR_NONE;
    if (strcmp(tool, "fail") == 0)
        return CLAWA_ERROR_CALLBACK_ERROR;
    if (strcmp(tool, "notfound") == 0)
        return CLAWA_ERROR_NOT_FOUND;
    if (has_prefix(tool, "code:"))
        return (ClawaError)(int)strtol(tool + 5, NULL, 10);
    if (strcmp(tool, "log_levels") == 0) {
        static const int levels[] = {0, 1, 2, 3, 4, 200};
        size_t i;
        for (i = 0; i < sizeof levels / sizeof levels[0]; i++)
            logf_(ctx, (uint8_t)levels[i], "level:%d", levels[i]);
        return CLAWA_ERROR_NONE;
    }
    if (has_prefix(tool, "log:")) {
        ctx->log(ctx, (uint8_t)strtol(tool + 4, NULL, 10), input);
        return CLAWA_ERROR_NONE;
    }
    if (has_prefix(tool, "send:")) {
        rc = ctx->send_event(ctx, tool + 5, input);
        logf_(ctx, 2, "send_event_custom:%d", (int)rc);
        return CLAWA_ERROR_NONE;
    }
    if (has_prefix(tool, "send_text:")) {
        char text[256];
        rc = ctx->send_event(ctx, tool + 10, unquote(input, text, sizeof text));
        logf_(ctx, 2, "send_event_custom:%d", (int)rc);
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "reenter") == 0) {
        rc = ctx->send_event(ctx, "echo.reenter", "{\"cb\":\"reenter\"}");
        logf_(ctx, 2, "reenter_send_event:%d", (int)rc);
        return CLAWA_ERROR_NONE;
    }
    if (has_prefix(tool, "threads:"))
        return run_threads(ctx, strtol(tool + 8, NULL, 10));
    if (strcmp(tool, "keep") == 0) {
        kept = ctx;
        ctx->log(ctx, 2, "kept");
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "use_kept") == 0)
        return use_kept(ctx, 1);
    if (strcmp(tool, "use_kept_inline") == 0)
        return use_kept(ctx, 0);
    if (has_prefix(tool, "sleep:")) {
        long ms = strtol(tool + 6, NULL, 10);
        sleep_ms(ms);
        logf_(ctx, 2, "slept:%ld", ms);
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "crash") == 0) {
        static int *volatile nowhere; /* volatile: a real fault, not a trap */
        *nowhere = 1;
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "abort") == 0)
        abort();
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION,
    ECHO_NAME,
    ECHO_VERSION,
    on_load,
    on_unload,
    on_session_start,
    on_session_end,
    on_tool_call,
    on_message,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
