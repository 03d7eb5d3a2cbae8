//go:build !cgo

package vtable

import "github.com/ebitengine/purego"

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

// Call1 calls a callback taking (ctx, session_id).
func Call1(fn, ctx, a uintptr) int32 {
	r, _, _ := purego.SyscallN(fn, ctx, a)
	return int32(r)
}

// Call3 calls a callback taking (ctx, session_id, s2, s3).
func Call3(fn, ctx, a, b, c uintptr) int32 {
	r, _, _ := purego.SyscallN(fn, ctx, a, b, c)
	return int32(r)
}
