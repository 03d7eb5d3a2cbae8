package loader_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cbuild"
)

// Verdicts belong to their call: a hook event reaches the host only for
// the call in flight on the thread that runs it (testplugins/verdict.c).

// verdictRCs are the answers the plugin reported (verdict.rc), in order;
// no hook event may reach the sink.
func (r *rig) verdictRCs(t *testing.T) []int {
	t.Helper()
	var out []int
	for _, e := range r.takeEvents() {
		require.NotContains(t, e.Method, "hook.", "a hook event reached the sink")
		if e.Method != "verdict.rc" {
			continue
		}
		var v struct{ RC int }
		require.NoError(t, json.Unmarshal(e.Params, &v))
		out = append(out, v.RC)
	}
	return out
}

func hookTool(t *testing.T, h clawd.Hooker, tool string) clawd.Verdict {
	t.Helper()
	v, err := h.Hook(context.Background(), clawd.ToolCall("s", tool, "{}"))
	require.NoError(t, err)
	return v
}

func TestVerdictsBelongToTheirCall(t *testing.T) {
	for _, m := range []struct {
		name string
		opts []clawd.Option
	}{{"serialized", nil}, {"concurrent", []clawd.Option{clawd.WithConcurrent(true)}}} {
		t.Run(m.name, func(t *testing.T) {
			opts := append([]clawd.Option{clawd.WithCapabilities(abi.CapNetworkRelay), clawd.WithHooks(clawd.HookToolCall)}, m.opts...)
			t.Run("after the call", func(t *testing.T) {
				// A plugin thread blocks on a context it kept, during the
				// next Hook call: stale, NotFound, counted.
				r := open(t, cbuild.Plugin(t, "verdict"), opts...)
				require.Equal(t, clawd.Verdict{}, hookTool(t, r.p.(clawd.Hooker), "late"))
				require.Equal(t, clawd.Verdict{}, hookTool(t, r.p.(clawd.Hooker), "join"), "the late block is the next call's verdict")
				require.Equal(t, []int{int(abi.NotFound)}, r.verdictRCs(t))
				s := r.p.Stats()
				require.Equal(t, uint64(1), s.StaleEvents)
				require.Equal(t, uint64(1), s.HookRefused)
				require.Equal(t, uint64(0), s.HookVerdicts)
			})
			t.Run("from a nested call", func(t *testing.T) {
				// The sink's call back into the plugin runs on the Hook
				// call's thread: it is the call in flight, and a block on
				// the outer call's (live) context from it is refused.
				r := open(t, cbuild.Plugin(t, "verdict"), opts...)
				r.onSend = func(e clawd.Event) error { return nestingSink(r.p, e) }
				require.Equal(t, clawd.Verdict{}, hookTool(t, r.p.(clawd.Hooker), "nest"), "a nested call gave the outer call's verdict")
				require.Equal(t, []int{int(abi.NotFound), 0}, r.verdictRCs(t), "the nested block, then the sink's answer")
				s := r.p.Stats()
				require.Equal(t, uint64(1), s.HookRefused)
				require.Equal(t, uint64(0), s.HookVerdicts)

				r.mu.Lock()
				r.onSend = nil
				r.mu.Unlock()
				require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "in flight", Plugin: "verdict"}, hookTool(t, r.p.(clawd.Hooker), "block"))
				require.Equal(t, []int{0}, r.verdictRCs(t))
			})
			t.Run("on a returned nested call", func(t *testing.T) {
				r := open(t, cbuild.Plugin(t, "verdict"), opts...)
				r.onSend = func(e clawd.Event) error { return nestingSink(r.p, e) }
				require.Equal(t, clawd.Verdict{}, hookTool(t, r.p.(clawd.Hooker), "after_nested"))
				require.Equal(t, []int{0, int(abi.NotFound)}, r.verdictRCs(t), "the sink's answer, then the stale block")
				s := r.p.Stats()
				require.Equal(t, uint64(1), s.StaleEvents)
				require.Equal(t, uint64(1), s.HookRefused)
				require.Equal(t, uint64(0), s.HookVerdicts)
			})
		})
	}
}

// nestingSink calls back into the plugin as testplugins/verdict.c asks.
func nestingSink(p clawd.Plugin, e clawd.Event) error {
	switch e.Method {
	case "verdict.nest":
		return p.Call(context.Background(), clawd.SessionStart("outer"))
	case "verdict.inner":
		return p.Call(context.Background(), clawd.SessionStart("inner"))
	}
	return nil
}
