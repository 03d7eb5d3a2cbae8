//go:build !cgo

package benchfloor

import (
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/clawd-go/clawd/internal/foreign"

	"github.com/clawd-go/clawd/internal/callback"
)

// Path is the call path the floors use.
const Path = "purego"

// Call3 is the bare call: purego.SyscallN on the pointer, with the strings
// copied into buf (C memory the caller reuses).
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
	r, _, _ := purego.SyscallN(fn, ctx, base, base+uintptr(a1), base+uintptr(a2))
	return int32(r)
}

// Call3Ready is a bare purego.SyscallN with strings already in C memory.
func Call3Ready(fn, ctx, a, b, c uintptr) int32 {
	r, _, _ := purego.SyscallN(fn, ctx, a, b, c)
	return int32(r)
}

// CallEach calls each of the n callbacks at fns (C memory) once, with
// strings already in C memory: a bare purego.SyscallN each. The
// ClawaErrors or'd together.
func CallEach(fns uintptr, n int, ctx, a, b, c uintptr) int32 {
	var r int32
	for _, fn := range unsafe.Slice((*uintptr)(foreign.Ptr(fns)), n) {
		v, _, _ := purego.SyscallN(fn, ctx, a, b, c)
		r |= int32(v)
	}
	return r
}

// A uintptr result, which the C side ignores: Windows requires one.
var logFn = callback.New(func(ctx, level, msg uintptr) uintptr { return 0 })

// LogFn is the address of a bare host log function that does nothing.
func LogFn() uintptr { return logFn }

// RunLoop calls loop(fn, ctx, n): a C loop in the plugin that calls fn n times.
func RunLoop(loop, fn, ctx uintptr, n int) {
	purego.SyscallN(loop, fn, ctx, uintptr(n))
}

// RunToolLoop calls loop(fn, ctx, a, b, c, n): a C loop in the plugin that
// calls the tool-call callback fn n times with strings already in C memory,
// the physical floor of a call.
func RunToolLoop(loop, fn, ctx, a, b, c uintptr, n int) {
	purego.SyscallN(loop, fn, ctx, a, b, c, uintptr(n))
}
