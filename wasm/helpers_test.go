package wasm_test

import (
	"testing"

	"github.com/clawd-go/clawd/internal/cbuild"
)

func cbuildWasm(t testing.TB, name string, flags ...string) string {
	t.Helper()
	return cbuild.WasmPlugin(t, name, flags...)
}
