package isolate_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cbuild"
)

// Verdicts belong to their call: a hook event reaches the host only for
// the call in flight on the thread that runs it (testplugins/verdict.c).

func openVerdict(t *testing.T, opts ...clawd.Option) *rig {
	t.Helper()
	base := []clawd.Option{clawd.WithCapabilities(abi.CapNetworkRelay), clawd.WithHooks(clawd.HookToolCall)}
	return open(t, cbuild.Plugin(t, "verdict"), append(base, opts...)...)
}

// verdictRCs are the answers the plugin reported (verdict.rc), in order;
// no hook event may reach the sink.
func (r *rig) verdictRCs(t *testing.T) []int {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, e := range r.events {
		require.NotContains(t, e.Method, "hook.", "a hook event reached the sink")
		if e.Method != "verdict.rc" {
			continue
		}
		var v struct{ RC int }
		require.NoError(t, json.Unmarshal(e.Params, &v))
		out = append(out, v.RC)
	}
	r.events = nil
	return out
}

func hookTool(t *testing.T, h clawd.Hooker, tool string) clawd.Verdict {
	t.Helper()
	v, err := h.Hook(bg, clawd.ToolCall("s", tool, "{}"))
	require.NoError(t, err)
	return v
}

// A plugin thread that blocks on a context it kept after its call
// returned gives no verdict to the call in flight then: stale, NotFound,
// counted.
func TestVerdictAfterTheCallIsStale(t *testing.T) {
	r := openVerdict(t)
	require.Equal(t, clawd.Verdict{}, hookTool(t, r.p, "late"))
	require.Equal(t, clawd.Verdict{}, hookTool(t, r.p, "join"), "the late block is the next call's verdict")
	require.Equal(t, []int{int(abi.NotFound)}, r.verdictRCs(t))
	s := r.p.Stats()
	require.Equal(t, uint64(1), s.StaleEvents)
	require.Equal(t, uint64(1), s.HookRefused)
	require.Equal(t, uint64(0), s.HookVerdicts)
}

// A sink's call back into the plugin is the call in flight on the thread:
// a block on the outer Hook call's context from inside it is refused, and
// the outer call's verdict stays Continue.
func TestVerdictFromANestedCallIsRefused(t *testing.T) {
	r := openVerdict(t)
	r.onEvent = func(e clawd.Event) error { return nestingSink(r.p, e) }
	require.Equal(t, clawd.Verdict{}, hookTool(t, r.p, "nest"))
	require.Equal(t, []int{int(abi.NotFound), 0}, r.verdictRCs(t), "the nested block, then the sink's answer")
	s := r.p.Stats()
	require.Equal(t, uint64(1), s.HookRefused)
	require.Equal(t, uint64(0), s.HookVerdicts)

	r.onEvent = nil
	require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "in flight", Plugin: "verdict"}, hookTool(t, r.p, "block"))
	require.Equal(t, []int{0}, r.verdictRCs(t))
}

// nestingSink calls back into the plugin as testplugins/verdict.c asks.
func nestingSink(p clawd.Plugin, e clawd.Event) error {
	switch e.Method {
	case "verdict.nest":
		return p.Call(bg, clawd.SessionStart("outer"))
	case "verdict.inner":
		return p.Call(bg, clawd.SessionStart("inner"))
	}
	return nil
}

// A block on the context of a nested call that returned, sent from the
// Hook call in flight: stale, NotFound, counted.
func TestVerdictOnAReturnedNestedCallIsStale(t *testing.T) {
	r := openVerdict(t)
	r.onEvent = func(e clawd.Event) error { return nestingSink(r.p, e) }
	require.Equal(t, clawd.Verdict{}, hookTool(t, r.p, "after_nested"))
	require.Equal(t, []int{0, int(abi.NotFound)}, r.verdictRCs(t), "the sink's answer, then the stale block")
	s := r.p.Stats()
	require.Equal(t, uint64(1), s.StaleEvents)
	require.Equal(t, uint64(1), s.HookRefused)
	require.Equal(t, uint64(0), s.HookVerdicts)
}
