package loader_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
)

// rcs are the answers the hook test plugin reported (hooktest.rc), in order.
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

func openHook(t *testing.T, hooks ...clawd.HookPoint) *rig {
	return open(t, cbuild.Plugin(t, "hook"), clawd.WithCapabilities(abi.CapNetworkRelay), clawd.WithHooks(hooks...))
}

func TestHookVerdicts(t *testing.T) {
	r := openHook(t, clawd.HookToolCall, clawd.HookMessage)
	ctx := context.Background()

	v, err := r.p.Hook(ctx, clawd.ToolCall("s", "C", `{"n":0}`))
	require.NoError(t, err)
	require.Equal(t, clawd.Verdict{}, v)
	require.Empty(t, r.rcs(t))

	v, err = r.p.Hook(ctx, clawd.ToolCall("s", "I", `{"n":0}`))
	require.NoError(t, err)
	require.Equal(t, clawd.Verdict{Kind: clawd.Intercept, Input: `{"n":1}`, Plugin: "hook"}, v)
	require.Equal(t, []int{0}, r.rcs(t))

	v, err = r.p.Hook(ctx, clawd.ToolCall("s", "CB", `{"n":1}`))
	require.NoError(t, err)
	require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "blocked at 1", Plugin: "hook"}, v)
	require.Equal(t, []int{0}, r.rcs(t))

	v, err = r.p.Hook(ctx, clawd.Message("s", "user", `"I 0"`))
	require.NoError(t, err)
	require.Equal(t, clawd.Verdict{Kind: clawd.Intercept, Content: `"I 1"`, Plugin: "hook"}, v)
	require.Equal(t, []int{0}, r.rcs(t))

	v, err = r.p.Hook(ctx, clawd.Message("s", "user", `"B 0"`))
	require.NoError(t, err)
	require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "blocked at 0", Plugin: "hook"}, v)
	require.Equal(t, []int{0}, r.rcs(t))

	_, err = r.p.Hook(ctx, clawd.SessionStart("s"))
	require.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(err))
	require.Equal(t, uint64(0), r.p.Stats().InvalidArgs)
	require.Equal(t, uint64(4), r.p.Stats().EventsSent) // the reports only
	require.Equal(t, uint64(4), r.p.Stats().HookVerdicts)
	require.Equal(t, uint64(0), r.p.Stats().HookRefused)
}

func TestHookRefusals(t *testing.T) {
	ctx := context.Background()
	t.Run("plain call", func(t *testing.T) {
		r := openHook(t, clawd.HookToolCall)
		require.NoError(t, r.p.Call(ctx, clawd.ToolCall("s", "B", `{"n":0}`)))
		require.Equal(t, []int{int(abi.NotFound)}, r.rcs(t))
		require.Equal(t, uint64(1), r.p.Stats().HookRefused)
	})
	t.Run("not a hook callback", func(t *testing.T) {
		r := openHook(t, clawd.HookToolCall, clawd.HookMessage)
		require.NoError(t, r.p.Call(ctx, clawd.SessionStart("hook")))
		require.Equal(t, []int{int(abi.NotFound)}, r.rcs(t))
	})
	t.Run("not granted", func(t *testing.T) {
		r := openHook(t, clawd.HookMessage)
		v, err := r.p.Hook(ctx, clawd.ToolCall("s", "B", `{"n":0}`))
		require.NoError(t, err)
		require.Equal(t, clawd.Verdict{}, v)
		require.Equal(t, []int{int(abi.NotFound)}, r.rcs(t))
	})
	t.Run("no network.relay needed", func(t *testing.T) {
		r := open(t, cbuild.Plugin(t, "hook"), clawd.WithHooks(clawd.HookToolCall))
		v, err := r.p.Hook(ctx, clawd.ToolCall("s", "B", `{"n":0}`))
		require.NoError(t, err)
		require.Equal(t, clawd.Block, v.Kind)
		require.Equal(t, uint64(1), r.p.Stats().EventsRefused) // the report, without network.relay
	})
	t.Run("invalid payloads", func(t *testing.T) {
		r := openHook(t, clawd.HookToolCall, clawd.HookMessage)
		v, err := r.p.Hook(ctx, clawd.ToolCall("s", "X", `{"n":0}`))
		require.NoError(t, err)
		require.Equal(t, clawd.Verdict{}, v)
		require.Equal(t, []int{int(abi.DaemonError), int(abi.DaemonError), int(abi.NotFound)}, r.rcs(t))
		v, err = r.p.Hook(ctx, clawd.Message("s", "user", `"X 0"`))
		require.NoError(t, err)
		require.Equal(t, clawd.Verdict{}, v)
		require.Equal(t, []int{int(abi.DaemonError), int(abi.DaemonError), int(abi.NotFound)}, r.rcs(t))
		s := r.p.Stats()
		require.Equal(t, uint64(4), s.InvalidArgs)
		require.Equal(t, uint64(4), s.HookInvalid)
		require.Equal(t, uint64(6), s.HookRefused)
		require.Equal(t, uint64(0), s.EventsRefused, "hook events are not events")
		require.Equal(t, uint64(6), s.EventsSent, "the reports")
	})
	t.Run("another thread", func(t *testing.T) {
		r := openHook(t, clawd.HookToolCall)
		v, err := r.p.Hook(ctx, clawd.ToolCall("s", "O", `{"n":0}`))
		require.NoError(t, err)
		require.Equal(t, clawd.Verdict{}, v)
		require.Equal(t, []int{int(abi.NotFound)}, r.rcs(t))
	})
	t.Run("stale", func(t *testing.T) {
		r := openHook(t, clawd.HookToolCall)
		v, err := r.p.Hook(ctx, clawd.ToolCall("s", "T", `{"n":0}`))
		require.NoError(t, err)
		require.Equal(t, clawd.Verdict{}, v)
		require.NoError(t, r.p.Call(ctx, clawd.SessionStart("join")))
		require.Equal(t, []int{int(abi.NotFound)}, r.rcs(t))
		require.Equal(t, uint64(1), r.p.Stats().StaleEvents)
	})
	t.Run("error is not a block", func(t *testing.T) {
		r := openHook(t, clawd.HookToolCall)
		v, err := r.p.Hook(ctx, clawd.ToolCall("s", "E", `{"n":0}`))
		require.Equal(t, clawerr.CallbackError, clawerr.CodeOf(err))
		require.True(t, errors.Is(err, abi.CallbackError))
		require.Equal(t, clawd.Verdict{}, v)
	})
	t.Run("past the deadline", func(t *testing.T) {
		r := openHook(t, clawd.HookToolCall)
		dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		v, err := r.p.Hook(dctx, clawd.ToolCall("s", "S", `{"n":0}`))
		require.Equal(t, clawerr.Timeout, clawerr.CodeOf(err))
		require.Equal(t, clawd.Verdict{}, v)
	})
}
