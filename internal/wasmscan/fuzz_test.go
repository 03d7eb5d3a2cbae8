package wasmscan_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/wasmscan"
	"github.com/clawd-go/clawd/internal/wasmscan/wasmgen"
)

// featureBodies use every kind of immediate: valid bodies of type
// () -> () in a module with one memory and one table, that wazero
// compiles; Scan must walk each to its end.
var featureBodies = map[string][]byte{
	"mvp": {0x02, 0x40, 0x03, 0x40, 0x41, 0x00, 0x04, 0x40, 0x01, 0x05, 0x01, 0x0b, 0x0b, 0x0b, // block loop if else
		0x41, 0x7f, 0x0d, 0x00, 0x1a + 0, // br_if 0 on an empty stack is invalid: replaced below
	},
	"loads and stores": {0x41, 0x00, 0x28, 0x02, 0x80, 0x01, 0x1a, 0x41, 0x00, 0x42, 0x80, 0x80, 0x80, 0x80, 0x10, 0x37, 0x03, 0x08, 0x0b},
	"consts": {0x43, 0, 0, 0x80, 0x3f, 0x1a, 0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x1a, 0x42, 0x7f, 0x1a, 0x41, 0xff, 0xff, 0xff, 0xff, 0x07, 0x1a,
		0x3f, 0x00, 0x40, 0x00, 0x1a, 0x0b},
	"br_table and select": {0x02, 0x40, 0x02, 0x40, 0x41, 0x01, 0x0e, 0x02, 0x00, 0x01, 0x00, 0x0b, 0x0b,
		0x41, 0x01, 0x41, 0x02, 0x41, 0x00, 0x1c, 0x01, 0x7f, 0x1a, 0x41, 0x01, 0x41, 0x02, 0x41, 0x00, 0x1b, 0x1a, 0x0b},
	"bulk memory": {0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0a, 0x00, 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0b, 0x00,
		0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x08, 0x00, 0x00, 0xfc, 0x09, 0x00, 0x0b},
	"reference types": {0xd0, 0x70, 0xd1, 0x1a, 0xd2, 0x00, 0x1a, 0x41, 0x00, 0x25, 0x00, 0x1a, 0xd0, 0x70, 0x41, 0x01, 0xfc, 0x0f, 0x00, 0x1a,
		0xfc, 0x10, 0x00, 0x1a, 0x41, 0x00, 0xd0, 0x70, 0x41, 0x00, 0xfc, 0x11, 0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0e, 0x00, 0x00,
		0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0c, 0x00, 0x00, 0xfc, 0x0d, 0x00, 0x0b},
	"sign extension and saturation": {0x41, 0x00, 0xc0, 0xc1, 0x1a, 0x43, 0, 0, 0, 0, 0xfc, 0x00, 0x1a, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0xfc, 0x07, 0x1a, 0x0b},
	"simd":                          simdBody(),
	"calls":                         {0x10, 0x00, 0x41, 0x00, 0x11, 0x00, 0x00, 0x0b},
	"globals and locals":            {0x23, 0x00, 0x24, 0x00, 0x20, 0x00, 0x21, 0x00, 0x20, 0x00, 0x22, 0x00, 0x1a, 0x0b},
}

func simdBody() []byte {
	v := func(b []byte) []byte { return append(append(b, 0xfd, 0x0c), make([]byte, 16)...) } // v128.const 0
	b := v(v(nil))
	b = append(b, 0xfd, 0x0d, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 31) // i8x16.shuffle
	b = append(b, 0xfd, 0x15, 0x03, 0x1a)                                           // extract_lane_s 3, drop
	b = append(b, 0x41, 0x00, 0xfd, 0x00, 0x04, 0x00, 0x1a)                         // v128.load
	b = v(append(b, 0x41, 0x00))
	b = append(b, 0xfd, 0x54, 0x00, 0x00, 0x05, 0x1a)                   // v128.load8_lane 5
	b = append(b, 0x41, 0x00, 0xfd, 0x5c, 0x02, 0x00, 0x1a)             // v128.load32_zero
	b = append(b, 0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x80, 0x01, 0x1a, 0x0b) // i8x16.splat, i16x8.abs
	return b
}

func init() {
	featureBodies["mvp"] = []byte{0x02, 0x40, 0x03, 0x40, 0x41, 0x00, 0x04, 0x40, 0x01, 0x05, 0x01, 0x0b, 0x0b, 0x0b,
		0x02, 0x40, 0x41, 0x01, 0x0d, 0x00, 0x0c, 0x00, 0x0b, 0x00, 0x0f, 0x0b}
}

// featureModule is a module with one memory, a funcref table of 4, a
// mutable i32 global, a passive data segment and a passive element
// segment, whose one function (type () -> (), one i32 local) has body.
func featureModule(body []byte) []byte {
	b := wasmgen.Header()
	b = wasmgen.Section(b, 1, []byte{1, 0x60, 0, 0})
	b = wasmgen.Section(b, 3, []byte{1, 0})
	b = wasmgen.Section(b, 4, []byte{1, 0x70, 0, 4})
	b = wasmgen.Section(b, 5, []byte{1, 0, 1})
	b = wasmgen.Section(b, 6, []byte{1, 0x7f, 1, 0x41, 0x00, 0x0b})
	b = wasmgen.Section(b, 9, []byte{2, 1, 0x00, 1, 0x00, 0x00, 0x41, 0x00, 0x0b, 1, 0x00}) // passive; active at 0
	b = wasmgen.Section(b, 12, []byte{1})
	code := append([]byte{1, 1, 0x7f}, body...)
	b = wasmgen.Section(b, 10, append(wasmgen.ULEB([]byte{1}, uint64(len(code))), code...))
	return wasmgen.Section(b, 11, []byte{1, 1, 3, 'a', 'b', 'c'})
}

// Every kind of immediate Scan decodes agrees with wazero: the module
// compiles, and Scan walks it to its end.
func TestFeaturesAgreeWithWazero(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for name, body := range featureBodies {
		bin := featureModule(body)
		cm, err := rt.CompileModule(ctx, bin)
		require.NoError(t, err, "%s: wazero refuses the test's module", name)
		_ = cm.Close(ctx)
		sum, err := wasmscan.Scan(bin, wasmscan.DefaultLimits())
		require.NoError(t, err, name)
		require.Equal(t, uint32(1), sum.Functions, name)
	}
}

// FuzzScan: Scan never panics, reads nothing out of bounds, returns a
// FormatError or a LimitError or a summary; and what wazero compiles it
// never calls malformed.
func FuzzScan(f *testing.F) {
	for _, body := range featureBodies {
		f.Add(featureModule(body))
	}
	f.Add(wasmgen.Module{Bodies: [][]byte{wasmgen.Nested(40)}, MemPages: 1}.Bytes())
	f.Add(wasmgen.Module{Bodies: [][]byte{wasmgen.GrowTable(3), wasmgen.Straight(30)},
		Tables: []wasmgen.Table{{Min: 1, Max: 8, HasMax: true}}, Exports: map[string]uint32{"g": 0}}.Bytes())
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	if cbuild.Zig() != nil {
		for _, bin := range examples(f) {
			f.Add(bin)
		}
	}
	// wazero's interpreter decodes and validates as its compiler does,
	// and compiles faster: more inputs a second.
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	f.Cleanup(func() { _ = rt.Close(ctx) })
	f.Fuzz(func(t *testing.T, bin []byte) {
		in := append([]byte(nil), bin...)
		sum, err := wasmscan.Scan(in, wasmscan.DefaultLimits())
		require.True(t, bytes.Equal(bin, in), "Scan wrote to its input")
		var fe *wasmscan.FormatError
		var le *wasmscan.LimitError
		switch {
		case err == nil:
			require.NotNil(t, sum)
			require.LessOrEqual(t, sum.CodeSize, uint64(len(bin)))
		case errors.As(err, &fe):
			require.GreaterOrEqual(t, fe.Offset, 0)
			require.LessOrEqual(t, fe.Offset, len(bin))
		case errors.As(err, &le):
		default:
			t.Fatalf("an error of another kind: %v", err)
		}
		if fe == nil || fe.Truncated {
			return // a count past the end: wazero may allocate by it before it fails
		}
		if cm, cerr := rt.CompileModule(ctx, bin); cerr == nil {
			_ = cm.Close(ctx)
			t.Fatalf("wazero compiles a module Scan calls malformed: %v", err)
		}
	})
}
