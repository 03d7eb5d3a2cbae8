//go:build cgo

package vtable

/*
#include <stdint.h>
#include <string.h>
#include <time.h>

// The ClawaContext of the callback running on this thread (package
// clawctx defines it, its send_event reads it): each shim sets it around
// its call and restores it after, so nested calls unwind it.
extern __thread uintptr_t clawd_calling_ctx;
#define CLAWD_CALL(ctx, expr) do { uintptr_t clawd_saved = clawd_calling_ctx; clawd_calling_ctx = (ctx); expr; clawd_calling_ctx = clawd_saved; } while (0)

// Fixed-arity shims: Go passes plain integers (no Go pointers cross), C
// casts them back to the ABI's function types. ClawaError is a C enum, an
// int in registers, so int32_t is the same return type.
static uintptr_t clawd_call_init(uintptr_t fn) {
	return (uintptr_t)((void *(*)(void))fn)();
}
static int32_t clawd_call0(uintptr_t fn, uintptr_t ctx) {
	int32_t r;
	CLAWD_CALL(ctx, r = ((int32_t (*)(void *))fn)((void *)ctx));
	return r;
}
static void clawd_call_unload(uintptr_t fn, uintptr_t ctx) {
	CLAWD_CALL(ctx, ((void (*)(void *))fn)((void *)ctx));
}
static int32_t clawd_call1(uintptr_t fn, uintptr_t ctx, uintptr_t a) {
	int32_t r;
	CLAWD_CALL(ctx, r = ((int32_t (*)(void *, const char *))fn)((void *)ctx, (const char *)a));
	return r;
}

// The staged callers take arguments laid out by the host in one C buffer,
// each followed by one separator byte. They check the whole block for a
// NUL (memchr, inside the same cgo call), then turn the separators into
// terminators and call. A negative result -1-i reports a NUL at offset i.
static int64_t clawd_call1_staged(uintptr_t fn, uintptr_t ctx, uintptr_t base, long n0) {
	char *b = (char *)base;
	const char *z = memchr(b, 0, (size_t)n0);
	if (z) return -1 - (z - b);
	b[n0] = 0;
	int32_t r;
	CLAWD_CALL(ctx, r = ((int32_t (*)(void *, const char *))fn)((void *)ctx, b));
	return (uint32_t)r;
}
static int64_t clawd_call3_staged(uintptr_t fn, uintptr_t ctx, uintptr_t base, long n0, long n1, long n2) {
	char *b = (char *)base;
	long end = n0 + n1 + n2 + 2;
	const char *z = memchr(b, 0, (size_t)end);
	if (z) return -1 - (z - b);
	b[n0] = 0;
	b[n0 + 1 + n1] = 0;
	b[end] = 0;
	int32_t r;
	CLAWD_CALL(ctx, r = ((int32_t (*)(void *, const char *, const char *, const char *))fn)(
		(void *)ctx, b, b + n0 + 1, b + n0 + 1 + n1 + 1));
	return (uint32_t)r;
}

static int64_t clawd_now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// Between the callbacks of a batch the shim reads the processor's time
// stamp counter where user space can (x86-64: rdtsc, ~7 ns against ~17 ns
// for clock_gettime), and the monotonic clock only at the batch's start and
// end: each callback gets the share of that span its ticks measured. The
// durations keep the clock's resolution and add up to its span exactly;
// the counter only apportions it (x86-64 processors of the last fifteen
// years count at a constant rate whatever a core's frequency, and Linux
// keeps CLOCK_MONOTONIC on that same counter). A step that goes back (a
// thread moved between cores whose counters disagree) counts as none.
// Elsewhere the ticks are the monotonic clock itself.
#if defined(__x86_64__)
#include <x86intrin.h>
static inline int64_t clawd_ticks(void) { return (int64_t)__rdtsc(); }
#else
static inline int64_t clawd_ticks(void) { return clawd_now(); }
#endif

// One callback of a batch (BatchEntry is its Go mirror): Go fills fn, ctx,
// live and stale; the shim writes code and ns.
typedef struct {
	uintptr_t fn;
	uintptr_t ctx;
	uintptr_t live, stale; // the context's _inner during the callback, and after
	int64_t code;          // the ClawaError, as an unsigned 32-bit value
	int64_t ns;            // how long the callback took, by CLOCK_MONOTONIC
} clawd_batch_entry;

// clawd_batch_staged runs n callbacks in order, in one crossing. The
// arguments are staged once at base, as for the staged callers (three
// strings if three, else one), checked for a NUL once, and copied into work
// before each callback: a plugin that writes to its arguments cannot change
// what the next one reads. Each context is marked live just before its
// callback and stale just after (release stores: _inner is read by the
// trampolines from any thread). One tick read ends a callback and starts
// the next (see clawd_ticks). A negative result -1-i reports a NUL at
// offset i, and no callback ran.
static int64_t clawd_batch_staged(uintptr_t ents, long n, uintptr_t base, uintptr_t work, int three,
	long n0, long n1, long n2) {
	char *b = (char *)base, *w = (char *)work;
	long end = three ? n0 + n1 + n2 + 2 : n0;
	const char *z = memchr(b, 0, (size_t)end);
	if (z) return -1 - (z - b);
	b[n0] = 0;
	if (three) {
		b[n0 + 1 + n1] = 0;
		b[end] = 0;
	}
	clawd_batch_entry *e = (clawd_batch_entry *)ents;
	int64_t start = clawd_now();
	int64_t t = clawd_ticks(), ticks = 0;
	for (long k = 0; k < n; k++) {
		memcpy(w, b, (size_t)end + 1);
		uintptr_t *inner = (uintptr_t *)e[k].ctx;
		__atomic_store_n(inner, e[k].live, __ATOMIC_RELEASE);
		int32_t r;
		if (three) {
			CLAWD_CALL(e[k].ctx, r = ((int32_t (*)(void *, const char *, const char *, const char *))e[k].fn)(
				(void *)e[k].ctx, w, w + n0 + 1, w + n0 + 1 + n1 + 1));
		} else {
			CLAWD_CALL(e[k].ctx, r = ((int32_t (*)(void *, const char *))e[k].fn)((void *)e[k].ctx, w));
		}
		__atomic_store_n(inner, e[k].stale, __ATOMIC_RELEASE);
		int64_t now = clawd_ticks();
		int64_t d = now - t;
		if (d < 0) d = 0;
		e[k].code = (uint32_t)r;
		e[k].ns = d; // in ticks until the span is known
		ticks += d;
		t = now;
	}
	int64_t span = clawd_now() - start;
	// span * ticks_k / ticks, in double: 53 bits keep every duration below
	// 100 days exact to the nanosecond's rounding.
	double per = ticks > 0 ? (double)span / (double)ticks : 0;
	for (long k = 0; k < n; k++) {
		e[k].ns = ticks > 0 ? (int64_t)((double)e[k].ns * per) : span / n;
	}
	return 0;
}
*/
import "C"

// clawd_calling_ctx, which the shims set, is defined by package clawctx.
import _ "github.com/clawd-go/clawd/internal/clawctx"

// Path names the call path compiled in: "cgo" or "purego".
const Path = "cgo"

// CallInit calls clawd_plugin_init at fn and returns the table's address.
func CallInit(fn uintptr) uintptr { return uintptr(C.clawd_call_init(C.uintptr_t(fn))) }

// Call0 calls on_load(ctx).
func Call0(fn, ctx uintptr) int32 { return int32(C.clawd_call0(C.uintptr_t(fn), C.uintptr_t(ctx))) }

// CallUnload calls on_unload(ctx).
func CallUnload(fn, ctx uintptr) { C.clawd_call_unload(C.uintptr_t(fn), C.uintptr_t(ctx)) }

// Call1 calls a callback taking (ctx, s0), where s0 is staged at base:
// n0 bytes and one spare byte. bad is -1, or 0 if s0 holds a NUL.
func Call1(fn, ctx, base uintptr, n0 int) (r int32, bad int) {
	v := int64(C.clawd_call1_staged(C.uintptr_t(fn), C.uintptr_t(ctx), C.uintptr_t(base), C.long(n0)))
	if v < 0 {
		return 0, 0
	}
	return int32(uint32(v)), -1
}

// Call3 calls a callback taking (ctx, s0, s1, s2), staged at base as
// s0, one byte, s1, one byte, s2, one byte. bad is -1, or the index of
// the first string that holds a NUL.
func Call3(fn, ctx, base uintptr, n0, n1, n2 int) (r int32, bad int) {
	v := int64(C.clawd_call3_staged(C.uintptr_t(fn), C.uintptr_t(ctx), C.uintptr_t(base), C.long(n0), C.long(n1), C.long(n2)))
	if v < 0 {
		return 0, culprit(int(-1-v), n0, n1)
	}
	return int32(uint32(v)), -1
}

// Batching tells whether Batch runs many callbacks in one crossing: cgo
// builds only (without cgo each callback is its own purego call anyway).
const Batching = true

// Batch runs the n callbacks described at ents (n BatchEntry values in C
// memory) in order, in one call into C, with the same staged arguments:
// one string (n0 bytes) or three, laid out at base as for Call1 and Call3,
// with room for the terminators; work is C memory of the same size, which
// each callback gets a fresh copy in. bad is -1, or the index of the first
// string that holds a NUL; then no callback ran.
func Batch(ents uintptr, n int, base, work uintptr, three bool, n0, n1, n2 int) (bad int) {
	t := C.int(0)
	if three {
		t = 1
	}
	v := int64(C.clawd_batch_staged(C.uintptr_t(ents), C.long(n), C.uintptr_t(base), C.uintptr_t(work), t, C.long(n0), C.long(n1), C.long(n2)))
	if v < 0 {
		if !three {
			return 0
		}
		return culprit(int(-1-v), n0, n1)
	}
	return -1
}
