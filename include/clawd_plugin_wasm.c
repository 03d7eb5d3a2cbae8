/*
 * clawd_plugin_wasm.c: the one WASM-only file of a ClawD plugin.
 *
 * Link it beside an unchanged plugin source to build a WebAssembly module
 * that the host's "wasm" runtime loads:
 *
 *     zig cc -target wasm32-wasi -mexec-model=reactor -O2 -I include \
 *         plugin.c include/clawd_plugin_wasm.c \
 *         -Wl,-z,stack-size=65536 -o plugin.wasm
 *
 * On wasm32 a function pointer is an index into the module's function table.
 * The host cannot write that table, so this file takes the addresses of the
 * host's two functions (imported from the module "clawd"), which makes the
 * linker put them in the table, and hands the host a ClawaContext template
 * holding their indices (clawd_wasm_context). The host copies the template
 * into every context it builds.
 *
 * The host places the strings of each call (and each context) in memory it
 * gets from clawd_wasm_alloc and returns with clawd_wasm_free: the guest's
 * own malloc, so the host never writes memory the plugin's allocator owns.
 *
 * Nothing here is called by the plugin itself.
 */
#include "clawd_plugin.h"

#include <stdlib.h>

#if !defined(__wasm__)
#error "clawd_plugin_wasm.c is for WebAssembly targets (zig cc -target wasm32-wasi)"
#endif

__attribute__((import_module("clawd"), import_name("send_event")))
ClawaError clawd_wasm_host_send_event(ClawaContext *ctx, const char *method, const char *params_json);

__attribute__((import_module("clawd"), import_name("log")))
void clawd_wasm_host_log(ClawaContext *ctx, uint8_t level, const char *msg);

static ClawaContext clawd_wasm_template;

/* The context template: send_event and log set, everything else 0. */
__attribute__((export_name("clawd_wasm_context")))
ClawaContext *clawd_wasm_context(void) {
    clawd_wasm_template.send_event = clawd_wasm_host_send_event;
    clawd_wasm_template.log = clawd_wasm_host_log;
    return &clawd_wasm_template;
}

/* size bytes for the host, or 0 (NULL) when the guest has no memory left. */
__attribute__((export_name("clawd_wasm_alloc")))
void *clawd_wasm_alloc(uint32_t size) { return malloc(size); }

__attribute__((export_name("clawd_wasm_free")))
void clawd_wasm_free(void *p) { free(p); }
