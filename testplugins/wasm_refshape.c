/*
 * wasm_refshape: a module in the shape of the reference daemon's WASM
 * example (named exports, env.clawd_log/env.clawd_send_event imports,
 * clawd_plugin_init returning a status), built without
 * include/clawd_plugin_wasm.c. The wasm runtime must refuse it with
 * runtime_unsupported and say what it lacks. Built natively (as every test
 * plugin is, to catch warnings), the imports are stubs.
 */
#include <stdint.h>

#if defined(__wasm__)
#define EXPORT(name) __attribute__((export_name(name)))
__attribute__((import_module("env"), import_name("clawd_log")))
void clawd_log(int32_t level, const char *ptr, int32_t len);
__attribute__((import_module("env"), import_name("clawd_send_event")))
int32_t clawd_send_event(const char *mptr, int32_t mlen, const char *pptr, int32_t plen);
#else
#define EXPORT(name)
static void clawd_log(int32_t level, const char *ptr, int32_t len) {
    (void)level;
    (void)ptr;
    (void)len;
}
static int32_t clawd_send_event(const char *mptr, int32_t mlen, const char *pptr, int32_t plen) {
    (void)mptr;
    (void)pptr;
    return mlen + plen;
}
#endif

EXPORT("clawd_plugin_init") int32_t clawd_plugin_init(void);
EXPORT("on_tool_call") int32_t on_tool_call(int32_t a, int32_t b);

int32_t clawd_plugin_init(void) { return 0; }

int32_t on_tool_call(int32_t a, int32_t b) {
    clawd_log(2, "tool", 4);
    return clawd_send_event("m", 1, "{}", 2) + a + b;
}
