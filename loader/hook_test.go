package loader_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
)

func openHook(t *testing.T, hooks ...clawd.HookPoint) *rig {
	return open(t, cbuild.Plugin(t, "hook"), clawd.WithCapabilities(abi.CapNetworkRelay), clawd.WithHooks(hooks...))
}

// What the contract suite (internal/contract, hook/*) cannot ask of every
// runtime: a hook past its deadline.
func TestHookRefusals(t *testing.T) {
	ctx := context.Background()
	t.Run("past the deadline", func(t *testing.T) {
		r := openHook(t, clawd.HookToolCall)
		dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		v, err := hook(r.p, dctx, clawd.ToolCall("s", "S", `{"n":0}`))
		require.Equal(t, clawerr.Timeout, clawerr.CodeOf(err))
		require.Equal(t, clawd.Verdict{}, v)
	})
}
