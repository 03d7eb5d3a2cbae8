package wasm_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
)

// rcs are the send_event answers the hook test plugin reported
// (hooktest.rc), in order; no hook event may reach the sink.
func (g *guest) rcs(t *testing.T) []int {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []int
	for _, e := range g.evs {
		require.Equal(t, "hooktest.rc", e.Method, "a hook event reached the sink")
		var v struct{ RC int }
		require.NoError(t, json.Unmarshal(e.Params, &v))
		out = append(out, v.RC)
	}
	g.evs = nil
	return out
}

// Verdicts from a pool of instances, which only this runtime keeps: each
// instance keeps its own call's verdict. The rules of verdicts, for a
// serialized plugin, are the contract suite's (internal/contract, hook/*).
func TestHookVerdictsFromAPool(t *testing.T) {
	for _, m := range poolModes {
		if m.opts == nil {
			continue // serialized: the contract suite's
		}
		t.Run(m.name, func(t *testing.T) { testHookVerdicts(t, m.opts) })
	}
}

func testHookVerdicts(t *testing.T, opts []clawd.Option) {
	mod := cbuild.WasmPlugin(t, "hook")
	ctx := context.Background()
	g := open(t, mod, append([]clawd.Option{clawd.WithHooks(clawd.HookToolCall, clawd.HookMessage)}, opts...)...)

	v, err := g.Hook(ctx, clawd.ToolCall("s", "C", `{"n":0}`))
	require.NoError(t, err)
	require.Equal(t, clawd.Verdict{}, v)

	v, err = g.Hook(ctx, clawd.ToolCall("s", "I", `{"n":0}`))
	require.NoError(t, err)
	require.Equal(t, clawd.Verdict{Kind: clawd.Intercept, Input: `{"n":1}`, Plugin: "hook"}, v)
	require.Equal(t, []int{0}, g.rcs(t))

	v, err = g.Hook(ctx, clawd.Message("s", "user", `"B 0"`))
	require.NoError(t, err)
	require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "blocked at 0", Plugin: "hook"}, v)
	require.Equal(t, []int{0}, g.rcs(t))

	// Outside a Hook call, and on a callback that gives none: NotFound.
	require.NoError(t, g.Call(ctx, clawd.ToolCall("s", "B", `{"n":0}`)))
	require.Equal(t, []int{int(abi.NotFound)}, g.rcs(t))
	_, err = g.Hook(ctx, clawd.SessionStart("s"))
	require.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(err))

	st := g.Stats()
	require.Equal(t, uint64(2), st.HookVerdicts)
	require.Equal(t, uint64(1), st.HookRefused)

	// A hook the plugin was not granted: NotFound, and Continue.
	h := open(t, mod, append([]clawd.Option{clawd.WithHooks(clawd.HookMessage)}, opts...)...)
	v, err = h.Hook(ctx, clawd.ToolCall("s", "B", `{"n":0}`))
	require.NoError(t, err)
	require.Equal(t, clawd.Verdict{}, v)
	require.Equal(t, []int{int(abi.NotFound)}, h.rcs(t))
}
