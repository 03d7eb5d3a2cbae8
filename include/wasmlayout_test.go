package include_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/clawd-go/clawd/include"
	"github.com/clawd-go/clawd/internal/cbuild"
)

// TestLayoutWasm32: the C printer built for wasm32-wasi (zig cc) and run
// under wazero prints the Wasm32 column of include.Layout, which the
// header's wasm32 static asserts and the wasm runtime's offsets follow.
func TestLayoutWasm32(t *testing.T) {
	mod := cbuild.WasmProgram(t, "include/testdata/layout_print.c", "-std=c99", "-pedantic")
	bin, err := os.ReadFile(mod)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	var out, errOut bytes.Buffer
	if _, err := r.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithStdout(&out).WithStderr(&errOut)); err != nil {
		t.Fatalf("running %s: %v\n%s", mod, err, errOut.Bytes())
	}
	checkOutput(t, "C on wasm32", out.Bytes(), func(f include.Fact) uint64 { return f.Wasm32 })
}
