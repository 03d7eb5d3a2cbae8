package contract

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
)

// openHook opens the hook test plugin with the hooks granted and
// network.relay (its reports need it) unless norelay.
func openHook(t *testing.T, rt Runtime, norelay bool, hooks ...clawd.HookPoint) (*rig, clawd.Hooker) {
	t.Helper()
	opts := []clawd.Option{clawd.WithHooks(hooks...)}
	if !norelay {
		opts = append(opts, relay())
	}
	r := open(t, rt, "hook", nil, opts...)
	h, ok := r.p.(clawd.Hooker)
	require.True(t, ok, "the %s runtime takes no verdicts (clawd.Hooker)", rt.Name)
	return r, h
}

// rcs are the answers the hook test plugin reported (hooktest.rc), in
// order, taken; no hook event may reach the sink.
func (r *rig) rcs(t *testing.T) []int {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, e := range r.events {
		require.Equal(t, "hooktest.rc", e.Method, "a hook event reached the sink")
		var v struct{ RC int }
		require.NoError(t, json.Unmarshal(e.Params, &v))
		out = append(out, v.RC)
	}
	r.events = nil
	return out
}

// A verdict sent during a Hook call is the call's: continue, intercept
// (the input or content replaced), block (with its reason), the plugin's
// name on each; a callback that gives none is invalid_argument.
func hookVerdicts(t *testing.T, rt Runtime) {
	r, h := openHook(t, rt, false, clawd.HookToolCall, clawd.HookMessage)
	for _, tc := range []struct {
		call clawd.Call
		want clawd.Verdict
		rcs  []int
	}{
		{clawd.ToolCall("s", "C", `{"n":0}`), clawd.Verdict{}, nil},
		{clawd.ToolCall("s", "I", `{"n":0}`), clawd.Verdict{Kind: clawd.Intercept, Input: `{"n":1}`, Plugin: "hook"}, []int{0}},
		{clawd.ToolCall("s", "CB", `{"n":1}`), clawd.Verdict{Kind: clawd.Block, Reason: "blocked at 1", Plugin: "hook"}, []int{0}},
		{clawd.Message("s", "user", `"I 0"`), clawd.Verdict{Kind: clawd.Intercept, Content: `"I 1"`, Plugin: "hook"}, []int{0}},
		{clawd.Message("s", "user", `"B 0"`), clawd.Verdict{Kind: clawd.Block, Reason: "blocked at 0", Plugin: "hook"}, []int{0}},
	} {
		v, err := h.Hook(bg, tc.call)
		require.NoError(t, err, "%s %v", tc.call.Op, tc.call.Args)
		require.Equal(t, tc.want, v, "%s %v", tc.call.Op, tc.call.Args)
		require.Equal(t, tc.rcs, r.rcs(t), "%s %v", tc.call.Op, tc.call.Args)
	}
	_, err := h.Hook(bg, clawd.SessionStart("s"))
	require.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(err), "%v", err)
	require.Equal(t, clawd.Stats{EventsSent: 4, HookVerdicts: 4}, r.p.Stats(), "the reports, the verdicts")
}

// A verdict is refused with NotFound outside a Hook call, from a callback
// that gives none, and for a hook the host did not grant (the verdict is
// then Continue); it needs no network.relay.
func hookRefusals(t *testing.T, rt Runtime) {
	t.Run("plain_call", func(t *testing.T) {
		r, _ := openHook(t, rt, false, clawd.HookToolCall)
		require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "B", `{"n":0}`)))
		require.Equal(t, []int{int(abi.NotFound)}, r.rcs(t))
		require.Equal(t, clawd.Stats{EventsSent: 1, HookRefused: 1}, r.p.Stats())
	})
	t.Run("not_a_hook_callback", func(t *testing.T) {
		r, _ := openHook(t, rt, false, clawd.HookToolCall, clawd.HookMessage)
		require.NoError(t, r.p.Call(bg, clawd.SessionStart("hook")))
		require.Equal(t, []int{int(abi.NotFound)}, r.rcs(t))
	})
	t.Run("not_granted", func(t *testing.T) {
		r, h := openHook(t, rt, false, clawd.HookMessage)
		v, err := h.Hook(bg, clawd.ToolCall("s", "B", `{"n":0}`))
		require.NoError(t, err)
		require.Equal(t, clawd.Verdict{}, v)
		require.Equal(t, []int{int(abi.NotFound)}, r.rcs(t))
	})
	t.Run("no_network_relay_needed", func(t *testing.T) {
		r, h := openHook(t, rt, true, clawd.HookToolCall)
		v, err := h.Hook(bg, clawd.ToolCall("s", "B", `{"n":0}`))
		require.NoError(t, err)
		require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "blocked at 0", Plugin: "hook"}, v)
		require.Equal(t, clawd.Stats{EventsRefused: 1, HookVerdicts: 1}, r.p.Stats(), "the report, without network.relay")
	})
}

// An invalid verdict payload is DaemonError, counted invalid and refused;
// an unknown hook method is NotFound; neither is an event.
func hookInvalidPayloads(t *testing.T, rt Runtime) {
	r, h := openHook(t, rt, false, clawd.HookToolCall, clawd.HookMessage)
	for _, c := range []clawd.Call{clawd.ToolCall("s", "X", `{"n":0}`), clawd.Message("s", "user", `"X 0"`)} {
		v, err := h.Hook(bg, c)
		require.NoError(t, err)
		require.Equal(t, clawd.Verdict{}, v)
		require.Equal(t, []int{int(abi.DaemonError), int(abi.DaemonError), int(abi.NotFound)}, r.rcs(t), "%s", c.Op)
	}
	require.Equal(t, clawd.Stats{EventsSent: 6, InvalidArgs: 4, HookInvalid: 4, HookRefused: 6}, r.p.Stats())
}

// A Hook call whose callback fails is the failure, not a block.
func hookErrorIsNoBlock(t *testing.T, rt Runtime) {
	_, h := openHook(t, rt, false, clawd.HookToolCall)
	v, err := h.Hook(bg, clawd.ToolCall("s", "E", `{"n":0}`))
	require.Equal(t, clawerr.CallbackError, clawerr.CodeOf(err), "%v", err)
	require.True(t, errors.Is(err, abi.CallbackError))
	require.Equal(t, clawd.Verdict{}, v)
}

func skipNoThreads(t *testing.T, rt Runtime) {
	t.Helper()
	if rt.NoThreads != "" {
		t.Skipf("plugins in the %s runtime start no threads: %s", rt.Name, rt.NoThreads)
	}
}

// A verdict sent from a thread of the plugin's own during the Hook call is
// NotFound, and the verdict Continue: only the calling thread gives one.
func hookOtherThread(t *testing.T, rt Runtime) {
	skipNoThreads(t, rt)
	r, h := openHook(t, rt, false, clawd.HookToolCall)
	v, err := h.Hook(bg, clawd.ToolCall("s", "O", `{"n":0}`))
	require.NoError(t, err)
	require.Equal(t, clawd.Verdict{}, v)
	require.Equal(t, []int{int(abi.NotFound)}, r.rcs(t))
}

// A verdict on a context kept past its Hook call is stale: NotFound,
// counted stale and refused, never a later call's.
func hookStale(t *testing.T, rt Runtime) {
	skipNoThreads(t, rt)
	r, h := openHook(t, rt, false, clawd.HookToolCall)
	v, err := h.Hook(bg, clawd.ToolCall("s", "T", `{"n":0}`))
	require.NoError(t, err)
	require.Equal(t, clawd.Verdict{}, v)
	require.NoError(t, r.p.Call(bg, clawd.SessionStart("join")))
	require.Equal(t, []int{int(abi.NotFound)}, r.rcs(t))
	st := r.p.Stats()
	require.Equal(t, uint64(1), st.StaleEvents)
	require.Equal(t, uint64(1), st.HookRefused)
}
