//go:build cgo

package vtable

/*
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <stddef.h>

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

// The state of one serialized plugin, shared with the Go side (package
// clawctx's Cell mirrors it field by field; TestCellLayout holds them
// equal). Everything but lock and waiters belongs to whoever holds lock.
#define CLAWD_CHUNK 64
#define CLAWD_RING 64
#define CLAWD_BUCKETS 8
typedef struct {
	uint32_t lock;     // 0 free, 1 held
	uint32_t waiters;  // Go callers sleeping until it is free
	uint32_t closed;
	uint32_t i;        // the current context: its index in its chunk,
	uintptr_t ctx;     // its address,
	uint32_t idx;      // its table index
	uint32_t chunk;    // the ring's chunk in use
	uint32_t n;        // chunks made
	uint32_t pad_;
	uintptr_t step;    // sizeof(ClawaContext)
	uintptr_t buf, buf_len; // the serial calls' argument buffer
	uintptr_t bases[CLAWD_RING];
	uint32_t firsts[CLAWD_RING];
	int64_t total, max; // what batches measured (written under lock, read by Go at any time)
	uint64_t buckets[CLAWD_BUCKETS];
} clawd_cell;

// clawd_advance moves the ring's cursor to the next context, as the Go
// side's AcquireSerial does; 0 when the next chunk is still to be made
// (only the Go side makes one), with nothing changed.
static inline int clawd_advance(clawd_cell *c) {
	if (c->i != CLAWD_CHUNK - 1) {
		c->i++;
		c->idx++;
		c->ctx += c->step;
		return 1;
	}
	uint32_t k = c->chunk + 1;
	if (k == c->n) {
		if (c->n < CLAWD_RING) return 0;
		k = 0;
	}
	c->chunk = k;
	c->i = 0;
	c->idx = c->firsts[k];
	c->ctx = c->bases[k];
	return 1;
}

// clawd_peek is the context clawd_advance would move to (a guess while
// the lock is not held: only for a prefetch), or the current one where
// the next is still to be made.
static inline uintptr_t clawd_peek(clawd_cell *c) {
	if (c->i != CLAWD_CHUNK - 1) return c->ctx + c->step;
	uint32_t k = c->chunk + 1;
	if (k == c->n) {
		if (c->n < CLAWD_RING) return c->ctx;
		k = 0;
	}
	return c->bases[k];
}

// The handles of the current context (package clawctx: liveHandle).
static inline uintptr_t clawd_live(clawd_cell *c) { return ((uintptr_t)c->idx + 1) << 1 | 1; }

// clawd_take takes the lock: one exchange. clawd_give gives it back with a
// release store and tells whether a Go caller waits (then the Go side
// wakes it). Reading waiters after a plain store can miss a waiter that
// registered in the same instant; the waiter then finds the lock free when
// it looks again (clawctx.SerialLock), a little late.
static inline int clawd_take(clawd_cell *c) { return __atomic_exchange_n(&c->lock, 1, __ATOMIC_ACQUIRE) == 0; }
static inline int clawd_give(clawd_cell *c) {
	__atomic_store_n(&c->lock, 0, __ATOMIC_RELEASE);
	return __atomic_load_n(&c->waiters, __ATOMIC_RELAXED) != 0;
}

#define CLAWD_BUSY (-1)     // the lock is taken: nothing done
#define CLAWD_HELD (-2)     // the lock is now the caller's: the Go side makes the call
#define CLAWD_NUL (-16)     // -16-i: string i holds a NUL; the lock is the caller's
#define CLAWD_WAKE ((int64_t)1 << 32)

// clawd_serial is a whole serialized call in one crossing: take the
// plugin's lock, move its ring to the next context, copy the strings into
// its argument buffer with their terminators (each checked for a NUL
// first), mark the context live, call, mark it stale, give the lock back.
// The strings are Go memory that C reads during this call only, never
// keeps. Whatever it cannot do here (closed, no buffer or too small, a
// chunk to make, a NUL) it leaves to the Go side with the lock held.
static int64_t clawd_serial(uintptr_t cellp, uintptr_t fn, int three,
	const char *s0, long n0, const char *s1, long n1, const char *s2, long n2) {
	clawd_cell *c = (clawd_cell *)cellp;
	if (!clawd_take(c)) return CLAWD_BUSY;
	long need = three ? n0 + n1 + n2 + 3 : n0 + 1;
	if (c->closed || (uintptr_t)need > c->buf_len) return CLAWD_HELD;
	if (n0 && memchr(s0, 0, (size_t)n0)) return CLAWD_NUL;
	if (three) {
		if (n1 && memchr(s1, 0, (size_t)n1)) return CLAWD_NUL - 1;
		if (n2 && memchr(s2, 0, (size_t)n2)) return CLAWD_NUL - 2;
	}
	if (!clawd_advance(c)) return CLAWD_HELD;
	char *b = (char *)c->buf;
	if (n0) memcpy(b, s0, (size_t)n0);
	b[n0] = 0;
	int32_t r;
	uintptr_t ctx = c->ctx, live = clawd_live(c);
	uintptr_t *inner = (uintptr_t *)ctx;
	__atomic_store_n(inner, live, __ATOMIC_RELEASE);
	if (three) {
		char *b1 = b + n0 + 1, *b2 = b1 + n1 + 1;
		if (n1) memcpy(b1, s1, (size_t)n1);
		b1[n1] = 0;
		if (n2) memcpy(b2, s2, (size_t)n2);
		b2[n2] = 0;
		CLAWD_CALL(ctx, r = ((int32_t (*)(void *, const char *, const char *, const char *))fn)((void *)ctx, b, b1, b2));
	} else {
		CLAWD_CALL(ctx, r = ((int32_t (*)(void *, const char *))fn)((void *)ctx, b));
	}
	__atomic_store_n(inner, live & ~(uintptr_t)1, __ATOMIC_RELEASE);
	int64_t v = (uint32_t)r;
	if (clawd_give(c)) v |= CLAWD_WAKE;
	return v;
}

// One callback of a batch (BatchEntry is its Go mirror): Go fills fn and
// cell; the shim writes code and ns.
typedef struct {
	uintptr_t fn;
	uintptr_t cell;
	int64_t code; // the ClawaError, as an unsigned 32-bit value; | CLAWD_WAKE
	int64_t ns;   // how long the callback took, by CLOCK_MONOTONIC
} clawd_batch_entry;

// clawd_copy copies the staged arguments for one callback: inline, in
// 32-byte blocks (the area has room for the last one's overrun: see the
// Go side's stage), for the few hundred bytes of a usual call; memcpy
// past that.
static inline void clawd_copy(char *w, const char *b, long n) {
	if (n > 512) {
		memcpy(w, b, (size_t)n);
		return;
	}
	for (long i = 0; i < n; i += 32) __builtin_memcpy(w + i, b + i, 32);
}

// clawd_batch runs the callbacks from..n-1 in order, in one crossing, each
// as clawd_serial runs one, and stops before one it cannot make here: its
// plugin busy, closed, or its ring at a chunk still to be made. It returns
// where it stopped (n if it did not), | CLAWD_WAKE if it holds that
// plugin's lock for the Go side to give back. The arguments are staged
// once at base, as for the staged callers (three strings if three, else
// one), checked for a NUL once, and copied into work before each callback:
// a plugin that writes to its arguments cannot change what the next one
// reads. One tick read ends a callback and starts the next (see
// clawd_ticks). Each plugin's lock is held until the whole run is timed:
// the measured durations go into its cell's counters under it (bounds: the
// buckets' upper bounds, in ns). A negative result -1-i reports a NUL at
// offset i, and no callback ran.
static int64_t clawd_batch(uintptr_t ents, long from, long n, uintptr_t base, uintptr_t work, int three,
	long n0, long n1, long n2, uintptr_t boundsp) {
	char *b = (char *)base, *w = (char *)work;
	long end = three ? n0 + n1 + n2 + 2 : n0;
	// String by string: a run that goes on from where the last one stopped
	// finds the terminators that one wrote.
	const char *z = memchr(b, 0, (size_t)n0);
	if (!z && three && !(z = memchr(b + n0 + 1, 0, (size_t)n1))) z = memchr(b + n0 + 1 + n1 + 1, 0, (size_t)n2);
	if (z) return -1 - (z - b);
	b[n0] = 0;
	if (three) {
		b[n0 + 1 + n1] = 0;
		b[end] = 0;
	}
	const int64_t *bounds = (const int64_t *)boundsp;
	clawd_batch_entry *e = (clawd_batch_entry *)ents;
	// Each call writes a context the ring last used thousands of calls
	// ago: a cache miss, which the exchange of the next plugin's lock
	// would wait for. Asking for all of them first overlaps the misses.
	for (long k = from; k < n; k++) __builtin_prefetch((const void *)clawd_peek((clawd_cell *)e[k].cell), 1, 3);
	int64_t held = 0;
	int64_t start = clawd_now();
	int64_t t = clawd_ticks(), ticks = 0;
	long k = from;
	for (; k < n; k++) {
		clawd_cell *c = (clawd_cell *)e[k].cell;
		if (!clawd_take(c)) break;
		if (c->closed || !clawd_advance(c)) {
			held = CLAWD_WAKE;
			break;
		}
		clawd_copy(w, b, end + 1);
		uintptr_t ctx = c->ctx, live = clawd_live(c);
		uintptr_t *inner = (uintptr_t *)ctx;
		__atomic_store_n(inner, live, __ATOMIC_RELEASE);
		int32_t r;
		if (three) {
			CLAWD_CALL(ctx, r = ((int32_t (*)(void *, const char *, const char *, const char *))e[k].fn)(
				(void *)ctx, w, w + n0 + 1, w + n0 + 1 + n1 + 1));
		} else {
			CLAWD_CALL(ctx, r = ((int32_t (*)(void *, const char *))e[k].fn)((void *)ctx, w));
		}
		__atomic_store_n(inner, live & ~(uintptr_t)1, __ATOMIC_RELEASE);
		int64_t now = clawd_ticks();
		int64_t d = now - t;
		if (d < 0) d = 0;
		e[k].code = (uint32_t)r;
		e[k].ns = d; // in ticks until the span is known
		ticks += d;
		t = now;
	}
	long stop = k;
	if (stop == from) return stop | held;
	int64_t span = clawd_now() - start;
	// span * ticks_k / ticks, in double: 53 bits keep every duration below
	// 100 days exact to the nanosecond's rounding.
	double per = ticks > 0 ? (double)span / (double)ticks : 0;
	for (k = from; k < stop; k++) {
		clawd_cell *c = (clawd_cell *)e[k].cell;
		int64_t d = ticks > 0 ? (int64_t)((double)e[k].ns * per) : span / (stop - from);
		e[k].ns = d;
		int j = 0;
		while (j < CLAWD_BUCKETS - 1 && d >= bounds[j]) j++;
		// Whole-word stores: the Go side reads them at any time.
		__atomic_store_n(&c->total, c->total + d, __ATOMIC_RELAXED);
		if (d > c->max) __atomic_store_n(&c->max, d, __ATOMIC_RELAXED);
		__atomic_store_n(&c->buckets[j], c->buckets[j] + 1, __ATOMIC_RELAXED);
		if (clawd_give(c)) e[k].code |= CLAWD_WAKE;
	}
	return stop | held;
}

// The layout of clawd_cell, for the test that holds clawctx.Cell equal.
static void clawd_cell_layout(uintptr_t *o) {
	o[0] = offsetof(clawd_cell, lock); o[1] = offsetof(clawd_cell, waiters); o[2] = offsetof(clawd_cell, closed);
	o[3] = offsetof(clawd_cell, i); o[4] = offsetof(clawd_cell, ctx); o[5] = offsetof(clawd_cell, idx);
	o[6] = offsetof(clawd_cell, chunk); o[7] = offsetof(clawd_cell, n); o[8] = offsetof(clawd_cell, step);
	o[9] = offsetof(clawd_cell, buf); o[10] = offsetof(clawd_cell, buf_len); o[11] = offsetof(clawd_cell, bases);
	o[12] = offsetof(clawd_cell, firsts); o[13] = offsetof(clawd_cell, total); o[14] = offsetof(clawd_cell, max);
	o[15] = offsetof(clawd_cell, buckets); o[16] = sizeof(clawd_cell);
}
*/
import "C"

import "unsafe"

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

// Batching tells whether Batch runs many callbacks in one crossing and
// Serial a whole serialized call: cgo builds only (without cgo each
// callback is its own purego call anyway, and the lock is taken in Go).
const Batching = true

// str passes a Go string to C for the duration of one call: a pointer to
// bytes that hold no Go pointer, which cgo lets C read while the call runs
// (and C never keeps). An empty string may have no bytes: C gets its
// length, 0, and never reads.
func str(s string) *C.char { return (*C.char)(unsafe.Pointer(unsafe.StringData(s))) }

// Serial makes one serialized call in one crossing (see SerialResult):
// cell is the plugin's clawctx.Cell, fn the callback; three strings or
// one (s0).
func Serial(cell, fn uintptr, three bool, s0, s1, s2 string) SerialResult {
	t := C.int(0)
	if three {
		t = 1
	}
	return SerialResult(C.clawd_serial(C.uintptr_t(cell), C.uintptr_t(fn), t,
		str(s0), C.long(len(s0)), str(s1), C.long(len(s1)), str(s2), C.long(len(s2))))
}

// Batch runs the callbacks from..n-1 described at ents (n BatchEntry
// values in C memory) in order, in one call into C, with the same staged
// arguments: one string (n0 bytes) or three, laid out at base as for Call1
// and Call3, with room for the terminators; work is C memory of the same
// size, which each callback gets a fresh copy in. bounds is C memory with
// the upper bounds of the first 7 latency buckets (ns). bad is -1, or the
// index of the first string that holds a NUL; then no callback ran. Else
// stop is where it stopped: before a callback it cannot make (its plugin
// busy, closed, or its ring at a chunk to make), n if none; held tells
// that it holds that plugin's lock, for the caller to give back.
func Batch(ents uintptr, from, n int, base, work uintptr, three bool, n0, n1, n2 int, bounds uintptr) (stop int, held bool, bad int) {
	t := C.int(0)
	if three {
		t = 1
	}
	v := int64(C.clawd_batch(C.uintptr_t(ents), C.long(from), C.long(n), C.uintptr_t(base), C.uintptr_t(work), t,
		C.long(n0), C.long(n1), C.long(n2), C.uintptr_t(bounds)))
	if v < 0 {
		if !three {
			return 0, false, 0
		}
		return 0, false, culprit(int(-1-v), n0, n1)
	}
	return int(uint32(v)), v&wakeBit != 0, -1
}

// cellLayout is clawd_cell's field offsets and size, for TestCellLayout.
func cellLayout() (o [17]uintptr) {
	var c [17]C.uintptr_t
	C.clawd_cell_layout(&c[0])
	for i := range o {
		o[i] = uintptr(c[i])
	}
	return o
}
