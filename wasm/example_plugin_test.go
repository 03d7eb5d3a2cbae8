package wasm_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/cbuild"
)

// examples/c/hello, the same source as the native example, builds to a
// .wasm and plays a session in the wasm runtime.
func TestExampleHelloC(t *testing.T) {
	g := open(t, cbuild.WasmModule(t, "examples/c/hello/hello.c"))
	assert.Equal(t, "hello", g.Name())
	for _, c := range []clawd.Call{clawd.SessionStart("s1"), clawd.ToolCall("s1", "grep", `{"q":"x"}`),
		clawd.Message("s1", "user", `"hi"`), clawd.SessionEnd("s1")} {
		require.NoError(t, g.Call(bg, c))
	}
	var methods []string
	for _, e := range g.events() {
		methods = append(methods, e.Method)
	}
	assert.Equal(t, []string{"hello.tool_called"}, methods)
	assert.Contains(t, string(g.events()[0].Params), "grep")
	assert.NotEmpty(t, g.logs.All())
}
