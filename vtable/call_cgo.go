//go:build cgo

package vtable

/*
#include <stdint.h>

// Fixed-arity shims: Go passes plain integers (no Go pointers cross), C
// casts them back to the ABI's function types. ClawaError is a C enum, an
// int in registers, so int32_t is the same return type.
static uintptr_t clawd_call_init(uintptr_t fn) {
	return (uintptr_t)((void *(*)(void))fn)();
}
static int32_t clawd_call0(uintptr_t fn, uintptr_t ctx) {
	return ((int32_t (*)(void *))fn)((void *)ctx);
}
static void clawd_call_unload(uintptr_t fn, uintptr_t ctx) {
	((void (*)(void *))fn)((void *)ctx);
}
static int32_t clawd_call1(uintptr_t fn, uintptr_t ctx, uintptr_t a) {
	return ((int32_t (*)(void *, const char *))fn)((void *)ctx, (const char *)a);
}
static int32_t clawd_call3(uintptr_t fn, uintptr_t ctx, uintptr_t a, uintptr_t b, uintptr_t c) {
	return ((int32_t (*)(void *, const char *, const char *, const char *))fn)(
		(void *)ctx, (const char *)a, (const char *)b, (const char *)c);
}
*/
import "C"

// Path names the call path compiled in: "cgo" or "purego".
const Path = "cgo"

// CallInit calls clawd_plugin_init at fn and returns the table's address.
func CallInit(fn uintptr) uintptr { return uintptr(C.clawd_call_init(C.uintptr_t(fn))) }

// Call0 calls on_load(ctx).
func Call0(fn, ctx uintptr) int32 { return int32(C.clawd_call0(C.uintptr_t(fn), C.uintptr_t(ctx))) }

// CallUnload calls on_unload(ctx).
func CallUnload(fn, ctx uintptr) { C.clawd_call_unload(C.uintptr_t(fn), C.uintptr_t(ctx)) }

// Call1 calls a callback taking (ctx, session_id).
func Call1(fn, ctx, a uintptr) int32 {
	return int32(C.clawd_call1(C.uintptr_t(fn), C.uintptr_t(ctx), C.uintptr_t(a)))
}

// Call3 calls a callback taking (ctx, session_id, s2, s3).
func Call3(fn, ctx, a, b, c uintptr) int32 {
	return int32(C.clawd_call3(C.uintptr_t(fn), C.uintptr_t(ctx), C.uintptr_t(a), C.uintptr_t(b), C.uintptr_t(c)))
}
