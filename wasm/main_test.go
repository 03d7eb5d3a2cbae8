package wasm_test

import (
	"os"
	"testing"

	"github.com/clawd-go/clawd/internal/cbuild"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}
