//go:build !cgo

package vtable

import (
	"bytes"

	"github.com/ebitengine/purego"

	"github.com/clawd-go/clawd/internal/foreign"
)

// Path names the call path compiled in: "cgo" or "purego".
const Path = "purego"

// CallInit calls clawd_plugin_init at fn and returns the table's address.
func CallInit(fn uintptr) uintptr {
	r, _, _ := purego.SyscallN(fn)
	return r
}

// Call0 calls on_load(ctx). The ClawaError comes back in the low 32 bits;
// the upper half of the register is unspecified, so it is cut off.
func Call0(fn, ctx uintptr) int32 {
	r, _, _ := purego.SyscallN(fn, ctx)
	return int32(r)
}

// CallUnload calls on_unload(ctx).
func CallUnload(fn, ctx uintptr) { purego.SyscallN(fn, ctx) }

// Call1 calls a callback taking (ctx, s0), where s0 is staged at base:
// n0 bytes and one spare byte. bad is -1, or 0 if s0 holds a NUL.
func Call1(fn, ctx, base uintptr, n0 int) (r int32, bad int) {
	b := foreign.Bytes(base, n0+1)
	if bytes.IndexByte(b[:n0], 0) >= 0 {
		return 0, 0
	}
	b[n0] = 0
	v, _, _ := purego.SyscallN(fn, ctx, base)
	return int32(v), -1
}

// Call3 calls a callback taking (ctx, s0, s1, s2), staged at base as
// s0, one byte, s1, one byte, s2, one byte. bad is -1, or the index of
// the first string that holds a NUL.
func Call3(fn, ctx, base uintptr, n0, n1, n2 int) (r int32, bad int) {
	end := n0 + n1 + n2 + 2
	b := foreign.Bytes(base, end+1)
	if i := bytes.IndexByte(b[:end], 0); i >= 0 {
		return 0, culprit(i, n0, n1)
	}
	b[n0], b[n0+1+n1], b[end] = 0, 0, 0
	v, _, _ := purego.SyscallN(fn, ctx, base, base+uintptr(n0+1), base+uintptr(n0+n1+2))
	return int32(v), -1
}

// Batching tells whether Batch runs many callbacks in one crossing and
// Serial a whole serialized call: cgo builds only (without cgo each
// callback is its own purego call anyway, and the lock is taken in Go).
const Batching = false

// Serial is not available without cgo (Batching is false): a caller that
// ignored Batching fails loudly.
func Serial(cell, fn uintptr, three bool, s0, s1, s2 string) SerialResult {
	panic("vtable: Serial needs cgo (Batching is false)")
}

// Batch is not available without cgo (Batching is false): a caller that
// ignored Batching fails loudly rather than silently skipping callbacks.
func Batch(ents uintptr, from, n int, base, work uintptr, three bool, n0, n1, n2 int, bounds uintptr) (stop int, held bool, bad int) {
	panic("vtable: Batch needs cgo (Batching is false)")
}
