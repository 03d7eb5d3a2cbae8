package wasmscan_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/wasmscan"
	"github.com/clawd-go/clawd/internal/wasmscan/wasmgen"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

// examples are real modules: the example plugins and the test plugins,
// as zig builds them.
func examples(t testing.TB) map[string][]byte {
	t.Helper()
	cbuild.RequireZig(t)
	paths := map[string]string{
		"examples/c/hello":   cbuild.WasmModule(t, "examples/c/hello/hello.c"),
		"examples/zig/hello": cbuild.Make(t, "examples/zig/hello", "hello_zig.wasm"),
		"wasm_guest":         cbuild.WasmPlugin(t, "wasm_guest"),
		"wasm_block":         cbuild.WasmPlugin(t, "wasm_block", "-mreference-types"),
		"echo":               cbuild.WasmPlugin(t, "echo"),
		"hostile":            cbuild.WasmBare(t, "wasm_hostile"),
	}
	out := map[string][]byte{}
	for name, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		out[name] = b
	}
	return out
}

// The examples and the test plugins pass the default limits with room to
// spare, and Scan reads them fast.
func TestExamplesPass(t *testing.T) {
	for name, bin := range examples(t) {
		start := time.Now()
		sum, err := wasmscan.Scan(bin, wasmscan.DefaultLimits())
		took := time.Since(start)
		require.NoError(t, err, name)
		lim := wasmscan.DefaultLimits()
		assert.Less(t, sum.Functions, lim.Functions/10, name)
		assert.Less(t, sum.Nesting, lim.Nesting/10, name)
		assert.Less(t, sum.Branches, lim.Branches/4, name)
		assert.Less(t, sum.BranchWork, lim.BranchWork/64, name)
		assert.Positive(t, sum.Functions, name)
		assert.Len(t, sum.Memories, 1, name)
		t.Logf("%-20s %7d bytes: %4d functions, largest body %6d bytes, nesting %3d, branches %4d (work %d), scanned in %v",
			name, len(bin), sum.Functions, sum.LargestBody, sum.Nesting, sum.Branches, sum.BranchWork, took)
	}
}

func limitIs(t *testing.T, err error, limit string) *wasmscan.LimitError {
	t.Helper()
	require.Error(t, err)
	var le *wasmscan.LimitError
	require.True(t, errors.As(err, &le), "%v", err)
	require.ErrorIs(t, err, wasmscan.ErrLimit)
	require.Equal(t, limit, le.Limit, "%v", err)
	require.Greater(t, le.Value, le.Bound)
	require.ErrorContains(t, err, "Limits."+limit)
	return le
}

func repeat(body []byte, n int) [][]byte {
	bs := make([][]byte, n)
	for i := range bs {
		bs[i] = body
	}
	return bs
}

// Each limit refuses the module over it, naming the limit, the value and
// the bound; the same module passes a bound one higher.
func TestLimitsRefuse(t *testing.T) {
	small := wasmscan.Limits{Functions: 20, BodySize: 100, CodeSize: 1000, Nesting: 8, Branches: 20, BranchWork: 900,
		Locals: 50, AllLocals: 120, Tables: 2}
	loop := func(n int) []byte {
		var b []byte
		for i := 0; i < n; i++ {
			b = append(b, 0x03, 0x40, 0x0b)
		}
		return append(b, 0x0b)
	}
	brTable := func(targets int) []byte {
		b := []byte{0x02, 0x40, 0x41, 0x00, 0x0e}
		b = wasmgen.ULEB(b, uint64(targets))
		for i := 0; i <= targets; i++ {
			b = append(b, 0x00)
		}
		return append(b, 0x0b, 0x0b)
	}
	for _, tc := range []struct {
		limit string
		m     wasmgen.Module
		what  string
	}{
		{"Functions", wasmgen.Module{Bodies: repeat(wasmgen.Empty, 21)}, "functions (imported and defined): 21"},
		{"BodySize", wasmgen.Module{Bodies: [][]byte{wasmgen.Straight(200)}}, "function 0's body"},
		{"CodeSize", wasmgen.Module{Bodies: repeat(wasmgen.Straight(90), 12)}, "bytes of function bodies"},
		{"Nesting", wasmgen.Module{Bodies: [][]byte{wasmgen.Nested(9)}}, "function 0's block nesting: 9"},
		{"Branches", wasmgen.Module{Bodies: [][]byte{wasmgen.Empty, loop(21)}}, "function 1's branches"},
		{"Branches", wasmgen.Module{Bodies: [][]byte{brTable(30)}}, "function 0's branches"},
		{"BranchWork", wasmgen.Module{Bodies: repeat(loop(10), 10)}, "sum of the squares"},
		{"Locals", wasmgen.Module{Bodies: [][]byte{wasmgen.Empty}, Locals: 51}, "function 0's locals: 51"},
		{"AllLocals", wasmgen.Module{Bodies: repeat(wasmgen.Empty, 3), Locals: 50}, "locals of all functions: 150"},
		{"Tables", wasmgen.Module{Bodies: [][]byte{wasmgen.Empty}, Tables: make([]wasmgen.Table, 3)}, "tables: 3"},
	} {
		bin := tc.m.Bytes()
		_, err := wasmscan.Scan(bin, small)
		limitIs(t, err, tc.limit)
		assert.ErrorContains(t, err, tc.what)
		assert.ErrorContains(t, err, "build the plugin smaller")
	}
}

// The hostile modules of the issue are refused at once by the default
// limits: deep nesting, a million functions, a body of branches.
func TestHostileModulesRefusedFast(t *testing.T) {
	lim := wasmscan.DefaultLimits()
	million := wasmgen.Module{Bodies: repeat(wasmgen.Straight(28), 1_000_000)}.Bytes() // 30 MB
	for _, tc := range []struct {
		name, limit string
		bin         []byte
	}{
		{"300,000-deep nesting", "Nesting", wasmgen.Module{Bodies: [][]byte{wasmgen.Nested(300_000)}}.Bytes()},
		{"a million functions, 30 MB", "Functions", million},
		{"16,000 blocks in one body", "Branches", wasmgen.Module{Bodies: [][]byte{wasmgen.Nested(16_000)[:0:0]}}.Bytes()},
		{"20 MiB of code", "CodeSize", wasmgen.Module{Bodies: repeat(wasmgen.Straight(1<<20-16), 20)}.Bytes()},
	} {
		if tc.limit == "Branches" {
			var b []byte
			for i := 0; i < 16_000; i++ {
				b = append(b, 0x02, 0x40, 0x0b)
			}
			tc.bin = wasmgen.Module{Bodies: [][]byte{append(b, 0x0b)}}.Bytes()
		}
		start := time.Now()
		_, err := wasmscan.Scan(tc.bin, lim)
		took := time.Since(start)
		limitIs(t, err, tc.limit)
		t.Logf("%-28s %9d bytes refused in %v: %v", tc.name, len(tc.bin), took, err)
	}
}

// What Scan cannot read is a FormatError, never a panic.
func TestMalformed(t *testing.T) {
	valid := wasmgen.Module{Bodies: [][]byte{wasmgen.Straight(20)}, MemPages: 1}.Bytes()
	for name, bin := range map[string][]byte{
		"empty":           nil,
		"magic only":      []byte("\x00asm"),
		"version 2":       []byte("\x00asm\x02\x00\x00\x00"),
		"section too big": append(wasmgen.Header(), 1, 0xff, 0xff, 0xff, 0xff, 0x0f),
		"truncated":       valid[:len(valid)-3],
		"unknown section": wasmgen.Section(wasmgen.Header(), 13, nil),
		"long LEB":        append(wasmgen.Header(), 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00),
		"huge count":      wasmgen.Section(wasmgen.Header(), 3, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}),
		"no end":          wasmgen.Module{Bodies: [][]byte{{0x01}}}.Bytes(),
		"after end":       wasmgen.Module{Bodies: [][]byte{{0x0b, 0x01}}}.Bytes(),
		"unknown opcode":  wasmgen.Module{Bodies: [][]byte{{0x06, 0x0b}}}.Bytes(),
		"bodies missing":  wasmgen.Section(wasmgen.Section(wasmgen.Header(), 1, []byte{1, 0x60, 0, 0}), 3, []byte{1, 0}),
	} {
		_, err := wasmscan.Scan(bin, wasmscan.DefaultLimits())
		var fe *wasmscan.FormatError
		require.True(t, errors.As(err, &fe), "%s: %v", name, err)
		assert.ErrorIs(t, err, wasmscan.ErrFormat, name)
	}
}

// Counts past the input's end are refused before anything allocates
// by them: wazero's decoder allocated 18 GiB for the first module, 6 and
// 8 GiB for the others, and still refused them.
func TestCountsPastTheEnd(t *testing.T) {
	for name, bin := range map[string][]byte{
		"2^28 element segments": []byte("\x00asm\x01\x00\x00\x00\x09\x05\x80\x80\x80\x80\x01"),
		"2^28 function names":   []byte("\x00asm\x01\x00\x00\x00\x00\x0c\x04name\x01\x05\x80\x80\x80\x80\x01"),
		"2^28 local names":      []byte("\x00asm\x01\x00\x00\x00\x00\x0c\x04name\x02\x05\x80\x80\x80\x80\x01"),
	} {
		_, err := wasmscan.Scan(bin, wasmscan.DefaultLimits())
		var fe *wasmscan.FormatError
		require.True(t, errors.As(err, &fe), "%s: %v", name, err)
		assert.True(t, fe.Truncated, name)
		assert.ErrorContains(t, err, "a count of 268435456 items", name)
	}
}

// Tables and table.grow are reported as the module declares them.
func TestTablesAndGrow(t *testing.T) {
	sum, err := wasmscan.Scan(wasmgen.Module{Bodies: [][]byte{wasmgen.GrowTable(1)},
		Tables: []wasmgen.Table{{Min: 1}, {Min: 2, Max: 9, HasMax: true}}}.Bytes(), wasmscan.DefaultLimits())
	require.NoError(t, err)
	assert.True(t, sum.TableGrow)
	assert.Equal(t, []wasmscan.Table{{Min: 1, Max: wasmscan.NoTableMax, Funcref: true}, {Min: 2, Max: 9, HasMax: true, Funcref: true}}, sum.Tables)
	sum, err = wasmscan.Scan(wasmgen.Module{Bodies: [][]byte{wasmgen.Empty}, Tables: []wasmgen.Table{{Min: 1}}}.Bytes(), wasmscan.DefaultLimits())
	require.NoError(t, err)
	assert.False(t, sum.TableGrow)
}

// wazero never grows a table past its declared maximum: table.grow
// returns -1 there, and the table stays at the maximum.
func TestWazeroTableGrowStopsAtMax(t *testing.T) {
	bin := wasmgen.Module{Bodies: [][]byte{{0xd0, 0x70, 0x41, 0x10, 0xfc, 0x0f, 0x00, 0x1a, 0x0b}},
		Tables: []wasmgen.Table{{Min: 0, Max: 40, HasMax: true}}, Exports: map[string]uint32{"grow": 0}}.Bytes()
	_, err := wasmscan.Scan(bin, wasmscan.DefaultLimits())
	require.NoError(t, err)
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	// grow returns the old size (or -1): a function of type () -> i32.
	bin2 := append(wasmgen.Header(), wasmgen.Section(nil, 1, []byte{1, 0x60, 0, 1, 0x7f})...)
	bin2 = wasmgen.Section(bin2, 3, []byte{1, 0})
	bin2 = wasmgen.Section(bin2, 4, []byte{1, 0x70, 1, 0, 40})
	bin2 = wasmgen.Section(bin2, 7, []byte{1, 4, 'g', 'r', 'o', 'w', 0, 0})
	bin2 = wasmgen.Section(bin2, 10, []byte{1, 9, 0, 0xd0, 0x70, 0x41, 0x10, 0xfc, 0x0f, 0x00, 0x0b})
	sum, err := wasmscan.Scan(bin2, wasmscan.DefaultLimits())
	require.NoError(t, err)
	require.True(t, sum.TableGrow)
	mod, err := rt.Instantiate(ctx, bin2)
	require.NoError(t, err)
	var got []int32
	for i := 0; i < 5; i++ {
		r, err := mod.ExportedFunction("grow").Call(ctx)
		require.NoError(t, err)
		got = append(got, int32(uint32(r[0])))
	}
	assert.Equal(t, []int32{0, 16, -1, -1, -1}, got, "grows to 32, then 48 > 40 is refused")
}
