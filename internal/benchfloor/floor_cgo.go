//go:build cgo

package benchfloor

/*
#include <stdint.h>

static int32_t floor_call3(uintptr_t fn, uintptr_t ctx, uintptr_t a, uintptr_t b, uintptr_t c) {
	return ((int32_t (*)(void *, const char *, const char *, const char *))fn)(
		(void *)ctx, (const char *)a, (const char *)b, (const char *)c);
}

extern void floorLog(uintptr_t, uint8_t, uintptr_t);
static void floor_loop(uintptr_t loop, uintptr_t fn, uintptr_t ctx, long n) {
	((void (*)(void *, void *, long))loop)((void *)fn, (void *)ctx, n);
}
static void floor_tool_loop(uintptr_t loop, uintptr_t fn, uintptr_t ctx, uintptr_t a, uintptr_t b, uintptr_t c, long n) {
	((void (*)(void *, void *, uintptr_t, uintptr_t, uintptr_t, long))loop)((void *)fn, (void *)ctx, a, b, c, n);
}
static int32_t floor_each(uintptr_t fns, long n, uintptr_t ctx, uintptr_t a, uintptr_t b, uintptr_t c) {
	const uintptr_t *f = (const uintptr_t *)fns;
	int32_t r = 0;
	for (long i = 0; i < n; i++)
		r |= ((int32_t (*)(void *, const char *, const char *, const char *))f[i])(
			(void *)ctx, (const char *)a, (const char *)b, (const char *)c);
	return r;
}
static uintptr_t floor_log_addr(void) { return (uintptr_t)&floorLog; }
*/
import "C"

// Path is the call path the floors use.
const Path = "cgo"

// Call3 is the hand-written call: copy the three strings, NUL-terminated,
// into buf (C memory the caller reuses) and call fn through a cgo shim.
func Call3(fn, ctx uintptr, buf []byte, s0, s1, s2 string) int32 {
	base := addr(buf)
	n := copy(buf, s0)
	buf[n] = 0
	a1 := n + 1
	n = a1 + copy(buf[a1:], s1)
	buf[n] = 0
	a2 := n + 1
	n = a2 + copy(buf[a2:], s2)
	buf[n] = 0
	return int32(C.floor_call3(C.uintptr_t(fn), C.uintptr_t(ctx), C.uintptr_t(base), C.uintptr_t(base+uintptr(a1)), C.uintptr_t(base+uintptr(a2))))
}

// Call3Ready calls fn with strings already in C memory: the bare cgo call.
func Call3Ready(fn, ctx, a, b, c uintptr) int32 {
	return int32(C.floor_call3(C.uintptr_t(fn), C.uintptr_t(ctx), C.uintptr_t(a), C.uintptr_t(b), C.uintptr_t(c)))
}

// CallEach calls each of the n callbacks at fns (C memory) once, with
// strings already in C memory, in one cgo call: the floor of a dispatch to
// n plugins. The ClawaErrors or'd together.
func CallEach(fns uintptr, n int, ctx, a, b, c uintptr) int32 {
	return int32(C.floor_each(C.uintptr_t(fns), C.long(n), C.uintptr_t(ctx), C.uintptr_t(a), C.uintptr_t(b), C.uintptr_t(c)))
}

// LogFn is the address of a bare host log function that does nothing.
func LogFn() uintptr { return uintptr(C.floor_log_addr()) }

// RunLoop calls loop(fn, ctx, n): a C loop in the plugin that calls fn n times.
func RunLoop(loop, fn, ctx uintptr, n int) {
	C.floor_loop(C.uintptr_t(loop), C.uintptr_t(fn), C.uintptr_t(ctx), C.long(n))
}

// RunToolLoop calls loop(fn, ctx, a, b, c, n): a C loop in the plugin that
// calls the tool-call callback fn n times with strings already in C memory,
// the physical floor of a call.
func RunToolLoop(loop, fn, ctx, a, b, c uintptr, n int) {
	C.floor_tool_loop(C.uintptr_t(loop), C.uintptr_t(fn), C.uintptr_t(ctx), C.uintptr_t(a), C.uintptr_t(b), C.uintptr_t(c), C.long(n))
}
