/*
 * wasm_hostile: a module that links its own, hostile replacement of
 * include/clawd_plugin_wasm.c, for the wasm runtime's tests of what it
 * does with bad pointers from the guest. Built alone (cbuild.WasmBare).
 *
 * Variants:
 *   -DALLOC_OUTSIDE  clawd_wasm_alloc returns a pointer past linear memory
 *   -DALLOC_NULL     clawd_wasm_alloc always returns NULL
 *   -DCTX_OUTSIDE    clawd_wasm_context returns a pointer past memory
 *   -DTABLE_OUTSIDE  clawd_plugin_init returns a pointer past memory
 *   -DALLOC_LATE     clawd_wasm_alloc returns a pointer past memory from
 *                    its second call on (after the load's allocation)
 * on_tool_call calls the host's log and send_event with pointers outside
 * memory, a forged context and a level above 255, then returns 0.
 * Built natively (as every test plugin is, to catch warnings), the imports
 * are stubs.
 */
#include "clawd_plugin.h"

#include <stdlib.h>

#if defined(__wasm__)
#define EXPORT(name) __attribute__((export_name(name)))
__attribute__((import_module("clawd"), import_name("log")))
void host_log(ClawaContext *ctx, uint32_t level, const char *msg);
__attribute__((import_module("clawd"), import_name("send_event")))
ClawaError host_send_event(ClawaContext *ctx, const char *method, const char *params);
#define OUTSIDE ((void *)(uintptr_t)0xfffffff0u)
#else
#define EXPORT(name)
static void host_log(ClawaContext *ctx, uint32_t level, const char *msg) {
    (void)ctx;
    (void)level;
    (void)msg;
}
static ClawaError host_send_event(ClawaContext *ctx, const char *method, const char *params) {
    (void)ctx;
    (void)method;
    (void)params;
    return CLAWA_ERROR_NONE;
}
#define OUTSIDE NULL
#endif

static ClawaContext tmpl;
static int allocs;

EXPORT("clawd_wasm_context") ClawaContext *clawd_wasm_context(void);
EXPORT("clawd_wasm_alloc") void *clawd_wasm_alloc(uint32_t size);
EXPORT("clawd_wasm_free") void clawd_wasm_free(void *p);

static void log_adapter(ClawaContext *ctx, uint8_t level, const char *msg) { host_log(ctx, level, msg); }

ClawaContext *clawd_wasm_context(void) {
    tmpl.send_event = host_send_event;
    tmpl.log = log_adapter;
#ifdef CTX_OUTSIDE
    return (ClawaContext *)OUTSIDE;
#else
    return &tmpl;
#endif
}

void *clawd_wasm_alloc(uint32_t size) {
    allocs++;
#if defined(ALLOC_OUTSIDE)
    (void)size;
    return OUTSIDE;
#elif defined(ALLOC_NULL)
    (void)size;
    return NULL;
#else
#ifdef ALLOC_LATE
    if (allocs >= 2)
        return OUTSIDE;
#endif
    return malloc(size);
#endif
}

void clawd_wasm_free(void *p) {
    if (p != OUTSIDE)
        free(p);
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool, const char *input) {
    (void)session;
    (void)tool;
    (void)input;
    host_log(ctx, 2, (const char *)OUTSIDE);              /* message outside memory */
    host_log(ctx, 0x1002, "level above 255");             /* a level no uint8_t holds */
    host_log((ClawaContext *)(uintptr_t)16, 2, "forged"); /* not a live context */
    host_log(ctx, 2, NULL);
    (void)host_send_event(ctx, (const char *)OUTSIDE, "{}");
    (void)host_send_event(ctx, "m", (const char *)OUTSIDE);
    (void)host_send_event((ClawaContext *)(uintptr_t)16, "m", "{}");
    host_log(ctx, 2, "done");
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "hostile", "1.0.0", 0, 0, 0, 0, on_tool_call, 0, {0, 0, 0, 0, 0, 0, 0, 0},
};

EXPORT("clawd_plugin_init") ClawaPlugin *clawd_plugin_init(void);

ClawaPlugin *clawd_plugin_init(void) {
#ifdef TABLE_OUTSIDE
    return (ClawaPlugin *)OUTSIDE;
#else
    return &table;
#endif
}
