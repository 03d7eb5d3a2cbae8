package isolate_test

import (
	"context"
	"encoding/json"
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

// What the contract suite (internal/contract, hook/*) cannot ask of every
// runtime: a hook past its deadline.
func TestHookRefusalsInTheSandbox(t *testing.T) {
	t.Run("past the deadline", func(t *testing.T) {
		r := openHook(t, clawd.HookToolCall)
		ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
		defer cancel()
		v, err := r.p.Hook(ctx, clawd.ToolCall("s", "S", `{"n":0}`))
		requireCode(t, err, clawerr.Timeout)
		require.Equal(t, clawd.Verdict{}, v)
	})
}
