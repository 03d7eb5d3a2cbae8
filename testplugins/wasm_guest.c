/*
 * wasm_guest: a plugin for the wasm runtime's tests of what only a WASM
 * guest can do to its host: trap, loop forever, exhaust its memory, reach
 * for files, print, exit. Built with include/clawd_plugin_wasm.c.
 *
 * Every callback whose session_id is "trap" executes unreachable (a trap).
 * on_load logs "loads:<n>", how many times on_load ran in this instance
 * (a re-instantiated guest says 1 again).
 * on_tool_call, by tool name:
 *   trap           unreachable
 *   oob            a store far outside linear memory
 *   loop           never returns
 *   send-loop      sends the event "spin" (relay granted), then never returns
 *   grow:<mb>      malloc(mb MiB); logs "grow:ok" (returns 0) or "grow:null" (returns 2)
 *   pages:<n>      memory.grow by n pages of 64 KiB; logs "pages:ok" (returns 0) or
 *                  "pages:refused" (returns 2)
 *   read:<path>    logs "read:ok:<first line>" or "read:err:<errno>:<strerror>"
 *   write:<path>   writes input_json to path; logs "write:ok" or "write:err:<errno>:<strerror>"
 *   link:<target>  symlink(target, "made-link"); logs "link:ok" or "link:err:<errno>:<strerror>"
 *   print          "out line" to stdout, "err line" to stderr
 *   exit:<n>       exit(n)
 *   recurse        recursion without end (a stack overflow)
 *   count          logs "count:<n>", calls so far in this instance
 *   bytes          reads input_json byte by byte (an FNV-1a hash, which no compiler
 *                  vectorizes): a guest loop for the deadline benchmark
 * Variants: -DTRAP_ON_LOAD, -DTRAP_ON_UNLOAD, -DTRAP_IN_INIT, -DNAME_PTR=<addr>
 * (a name pointer outside memory), -DVERSION_PTR=<addr>, -DWRONG_SLOT (on_tool_call
 * is a function of another type), -DBAD_SLOT (on_message is a table index
 * past the table's end), -DEXPORT_RESERVED (exports a function under the name
 * the host reserves for its interrupt flag).
 */
#define _POSIX_C_SOURCE 200809L /* symlink */

#include "clawd_plugin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int loads, calls;
static volatile uint32_t hashed; /* keeps bytes' loop from being elided */
static char *volatile held; /* keeps grow's memory live: the compiler may not elide it */

static void logf_(ClawaContext *ctx, uint8_t level, const char *fmt, const char *a, long n) {
    char line[512];
    if (a != NULL)
        snprintf(line, sizeof line, fmt, a, n);
    else
        snprintf(line, sizeof line, fmt, n);
    ctx->log(ctx, level, line);
}

/* Recursion that never ends in practice (the volatile frame keeps it
 * from becoming a loop; the bound only satisfies -Winfinite-recursion). */
static int recurse(int n) {
    volatile char frame[64];
    frame[0] = (char)n;
    if (n == -1)
        return 0;
    return recurse(n + 1) + frame[0];
}

static void trap_if(const char *session) {
    if (session != NULL && strcmp(session, "trap") == 0)
        __builtin_trap();
}

static ClawaError on_load(ClawaContext *ctx) {
#ifdef TRAP_ON_LOAD
    __builtin_trap();
#endif
    loads++;
    logf_(ctx, 2, "loads:%ld", NULL, loads);
    return CLAWA_ERROR_NONE;
}

static void on_unload(ClawaContext *ctx) {
    (void)ctx;
#ifdef TRAP_ON_UNLOAD
    __builtin_trap();
#endif
}

static ClawaError on_session_start(ClawaContext *ctx, const char *session) {
    (void)ctx;
    trap_if(session);
    return CLAWA_ERROR_NONE;
}

static ClawaError on_session_end(ClawaContext *ctx, const char *session) {
    (void)ctx;
    trap_if(session);
    return CLAWA_ERROR_NONE;
}

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

__attribute__((unused)) static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                                                     const char *input) {
    trap_if(session);
    calls++;
    if (strcmp(tool, "bytes") == 0) {
        uint32_t h = 2166136261u;
        const unsigned char *p;
        for (p = (const unsigned char *)input; *p; p++) {
            h ^= *p;
            h *= 16777619u;
        }
        hashed = h;
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "trap") == 0)
        __builtin_trap();
    if (strcmp(tool, "oob") == 0) {
        *(volatile int *)(uintptr_t)0xfffffff0u = 1;
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "send-loop") == 0)
        ctx->send_event(ctx, "spin", "{}");
    if (strcmp(tool, "loop") == 0 || strcmp(tool, "send-loop") == 0) {
        volatile unsigned long n = 0;
        for (;;)
            n++;
    }
    if (has_prefix(tool, "grow:")) {
        size_t mb = (size_t)strtol(tool + 5, NULL, 10);
        char *p = (char *)malloc(mb << 20);
        if (p == NULL) {
            ctx->log(ctx, 3, "grow:null");
            return CLAWA_ERROR_CALLBACK_ERROR;
        }
        memset(p, 1, mb << 20);
        held = p;
        ctx->log(ctx, 2, "grow:ok");
        return CLAWA_ERROR_NONE;
    }
    if (has_prefix(tool, "pages:")) {
#ifdef __wasm__
        long n = strtol(tool + 6, NULL, 10);
        if (__builtin_wasm_memory_grow(0, (size_t)n) == (size_t)-1) {
#else /* built natively by the compile-all test: no linear memory to grow */
        {
#endif
            ctx->log(ctx, 3, "pages:refused");
            return CLAWA_ERROR_CALLBACK_ERROR;
        }
        ctx->log(ctx, 2, "pages:ok");
        return CLAWA_ERROR_NONE;
    }
    if (has_prefix(tool, "read:")) {
        char line[256];
        FILE *f = fopen(tool + 5, "r");
        if (f == NULL) {
            int e = errno;
            logf_(ctx, 3, "read:err:%s:%ld", strerror(e), e);
            return CLAWA_ERROR_NOT_FOUND;
        }
        if (fgets(line, sizeof line, f) == NULL)
            line[0] = 0;
        fclose(f);
        line[strcspn(line, "\n")] = 0;
        logf_(ctx, 2, "read:ok:%s", line, 0);
        return CLAWA_ERROR_NONE;
    }
    if (has_prefix(tool, "write:")) {
        FILE *f = fopen(tool + 6, "w");
        int e;
        if (f == NULL) {
            e = errno;
            logf_(ctx, 3, "write:err:%s:%ld", strerror(e), e);
            return CLAWA_ERROR_CAPABILITY_DENIED;
        }
        fputs(input, f);
        e = fclose(f) == 0 ? 0 : errno;
        if (e != 0) {
            logf_(ctx, 3, "write:err:%s:%ld", strerror(e), e);
            return CLAWA_ERROR_CAPABILITY_DENIED;
        }
        ctx->log(ctx, 2, "write:ok");
        return CLAWA_ERROR_NONE;
    }
    if (has_prefix(tool, "link:")) {
        if (symlink(tool + 5, "made-link") != 0) {
            int e = errno;
            logf_(ctx, 3, "link:err:%s:%ld", strerror(e), e);
            return CLAWA_ERROR_CAPABILITY_DENIED;
        }
        ctx->log(ctx, 2, "link:ok");
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "print") == 0) {
        printf("out line\n");
        fflush(stdout);
        fprintf(stderr, "err line\n");
        return CLAWA_ERROR_NONE;
    }
    if (has_prefix(tool, "exit:"))
        exit((int)strtol(tool + 5, NULL, 10));
    if (strcmp(tool, "recurse") == 0)
        return recurse(0) == 42 ? CLAWA_ERROR_NONE : CLAWA_ERROR_CALLBACK_ERROR;
    if (strcmp(tool, "count") == 0) {
        logf_(ctx, 2, "count:%ld", NULL, calls);
        return CLAWA_ERROR_NONE;
    }
    return CLAWA_ERROR_NONE;
}

__attribute__((unused)) static ClawaError on_message(ClawaContext *ctx, const char *session, const char *role,
                                                   const char *content) {
    (void)ctx;
    (void)role;
    (void)content;
    trap_if(session);
    return CLAWA_ERROR_NONE;
}

#if defined(__wasm__) && defined(EXPORT_RESERVED)
__attribute__((export_name("clawd.interrupt"))) int reserved(void) { return 0; }
#endif

#ifdef WRONG_SLOT
static ClawaError wrong_type(ClawaContext *ctx) {
    (void)ctx;
    return CLAWA_ERROR_NONE;
}
#endif

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION,
#ifdef NAME_PTR
    (const char *)(uintptr_t)NAME_PTR,
#else
    "wasm_guest",
#endif
#ifdef VERSION_PTR
    (const char *)(uintptr_t)VERSION_PTR,
#else
    "1.0.0",
#endif
    on_load,
    on_unload,
    on_session_start,
    on_session_end,
#ifdef WRONG_SLOT
    (ClawaError(*)(ClawaContext *, const char *, const char *, const char *))(void (*)(void))wrong_type,
#else
    on_tool_call,
#endif
#ifdef BAD_SLOT
    (ClawaError(*)(ClawaContext *, const char *, const char *, const char *))(uintptr_t)0x7fff,
#else
    on_message,
#endif
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) {
#ifdef TRAP_IN_INIT
    __builtin_trap();
#endif
    return &table;
}
