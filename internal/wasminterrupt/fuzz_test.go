package wasminterrupt

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/wasmscan"
)

// features is one function (type () -> (), one i32 local) per kind of
// immediate, in a module with a memory, a table, a global and passive
// segments, so the fuzzer starts from every instruction family.
func features() [][]byte {
	bodies := [][]byte{
		{0x02, 0x40, 0x03, 0x40, 0x41, 0x00, 0x04, 0x40, 0x01, 0x05, 0x01, 0x0b, 0x0b, 0x0b, 0x0b},
		{0x41, 0x00, 0x28, 0x02, 0x80, 0x01, 0x1a, 0x41, 0x00, 0x42, 0x80, 0x80, 0x80, 0x80, 0x10, 0x37, 0x03, 0x08, 0x0b},
		{0x43, 0, 0, 0x80, 0x3f, 0x1a, 0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x1a, 0x3f, 0x00, 0x40, 0x00, 0x1a, 0x0b},
		{0x02, 0x40, 0x02, 0x40, 0x41, 0x01, 0x0e, 0x02, 0x00, 0x01, 0x00, 0x0b, 0x0b,
			0x41, 0x01, 0x41, 0x02, 0x41, 0x00, 0x1c, 0x01, 0x7f, 0x1a, 0x0b},
		{0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0a, 0x00, 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0b, 0x00,
			0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x08, 0x00, 0x00, 0xfc, 0x09, 0x00, 0x0b},
		{0xd0, 0x70, 0xd1, 0x1a, 0xd2, 0x00, 0x1a, 0x41, 0x00, 0x25, 0x00, 0x1a, 0xd0, 0x70, 0x41, 0x01, 0xfc, 0x0f, 0x00, 0x1a,
			0xfc, 0x10, 0x00, 0x1a, 0xfc, 0x0d, 0x00, 0x0b},
		{0x41, 0x00, 0xc0, 0xc1, 0x1a, 0x43, 0, 0, 0, 0, 0xfc, 0x00, 0x1a, 0x0b},
		append(append([]byte{0xfd, 0x0c}, make([]byte, 16)...), 0xfd, 0x15, 0x03, 0x1a, 0x0b),
		{0x23, 0x00, 0x24, 0x00, 0x20, 0x00, 0x21, 0x00, 0x10, 0x00, 0x41, 0x00, 0x11, 0x00, 0x00, 0x0b},
	}
	var out [][]byte
	for _, b := range bodies {
		code := append([]byte{1, 1, 0x7f}, b...)
		out = append(out, assemble(
			sec(1, []byte{1, 0x60, 0, 0}), sec(3, []byte{1, 0}), sec(4, []byte{1, 0x70, 0, 4}),
			sec(5, []byte{1, 0, 1}), sec(6, []byte{1, 0x7f, 1, 0x41, 0x00, 0x0b}),
			sec(7, vec(export("f", 0, 0))),
			sec(9, []byte{2, 1, 0x00, 1, 0x00, 0x00, 0x41, 0x00, 0x0b, 1, 0x00}),
			sec(12, []byte{1}),
			sec(10, append(leb(1), append(leb(uint32(len(code))), code...)...)),
			sec(11, []byte{1, 1, 3, 'a', 'b', 'c'})))
	}
	return out
}

// Every feature module compiles once instrumented.
func TestFeaturesCompile(t *testing.T) {
	rt := wazero.NewRuntime(bg)
	defer rt.Close(bg)
	for i, bin := range features() {
		cm, err := rt.CompileModule(bg, bin)
		require.NoError(t, err, "feature %d: the test's module", i)
		_ = cm.Close(bg)
		out, err := Rewrite(bin)
		require.NoError(t, err, i)
		cm, err = rt.CompileModule(bg, out)
		require.NoError(t, err, i)
		_ = cm.Close(bg)
	}
}

// The test plugins, built by zig, compile once instrumented, and their
// loops are found: clang emits a loop for every C loop.
func TestBuiltPlugins(t *testing.T) {
	rt := wazero.NewRuntime(bg)
	defer rt.Close(bg)
	for _, name := range []string{"wasm_block", "bench", "wasm_guest"} {
		bin := readFile(t, cbuild.WasmPlugin(t, name))
		out, err := Rewrite(bin)
		require.NoError(t, err, name)
		cm, err := rt.CompileModule(bg, out)
		require.NoError(t, err, name)
		_ = cm.Close(bg)
		require.Greater(t, bytes.Count(out, []byte{0x04, 0x40, 0x00, 0x0b}), bytes.Count(bin, []byte{0x04, 0x40, 0x00, 0x0b}), name)
	}
}

// FuzzRewrite: of a module the pre-scan accepts, Rewrite either refuses
// it (an *Error) or returns a module that grows by at most MaxGrowth,
// that a second Rewrite refuses (the flag's name is taken), that wazero
// compiles whenever it compiles the original, and in which, with the
// flag set, every exported function traps at once.
func FuzzRewrite(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s.bin)
	}
	for _, b := range features() {
		f.Add(b)
	}
	// Built plugins are not seeds: minimizing an input of tens of KiB,
	// a compile per attempt, stalls the fuzzer. TestBuiltPlugins has them.
	// The interpreter validates as the compiler does, and faster.
	// Memories and tables are kept small: instantiating is not what is
	// under test.
	rt := wazero.NewRuntimeWithConfig(bg, wazero.NewRuntimeConfigInterpreter().WithMemoryLimitPages(16))
	f.Cleanup(func() { _ = rt.Close(bg) })
	f.Fuzz(func(t *testing.T, bin []byte) {
		sum, err := wasmscan.Scan(bin, wasmscan.DefaultLimits())
		if err != nil {
			return // Rewrite's input is what the pre-scan accepted
		}
		in := append([]byte(nil), bin...)
		out, err := Rewrite(in)
		require.True(t, bytes.Equal(bin, in), "Rewrite wrote to its input")
		if err != nil {
			var e *Error
			require.True(t, errors.As(err, &e), "an error of another kind: %v", err)
			require.GreaterOrEqual(t, e.Offset, 0)
			require.LessOrEqual(t, e.Offset, len(bin))
			return
		}
		defined := uint64(sum.Functions - sum.Imported)
		require.LessOrEqual(t, uint64(len(out)-len(bin)), MaxGrowth(defined, defined*uint64(sum.Branches)))
		_, err = Rewrite(out)
		require.ErrorIs(t, err, ErrReserved)

		cm, err := rt.CompileModule(bg, bin)
		if err != nil {
			return // nothing to keep
		}
		_ = cm.Close(bg)
		cm, err = rt.CompileModule(bg, out)
		require.NoError(t, err, "wazero refuses the rewrite of a module it compiles")
		defer cm.Close(bg)
		for _, tb := range sum.Tables {
			if tb.Min > 1<<16 {
				return
			}
		}
		mod, err := rt.InstantiateModule(bg, cm, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			return // imports, or a segment out of bounds; no guest code ran (no start section)
		}
		defer mod.Close(bg)
		interrupt(mod)
		for name, def := range cm.ExportedFunctions() {
			if bytes.IndexByte(def.ParamTypes(), 0x7b) >= 0 || bytes.IndexByte(def.ResultTypes(), 0x7b) >= 0 {
				continue // v128: not callable from Go
			}
			_, err := mod.ExportedFunction(name).Call(bg, make([]uint64, len(def.ParamTypes()))...)
			require.ErrorContains(t, err, "unreachable", name)
		}
	})
}
