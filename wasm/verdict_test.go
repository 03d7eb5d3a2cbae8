package wasm_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cbuild"
)

// Verdicts belong to their call: a hook event reaches the host only for
// the call in flight (testplugins/verdict.c). The guest has one thread;
// what is left is a sink's call back into the guest, nested below a Hook
// call, which is then the call in flight: a block on the outer call's
// live context from it is refused, in every pool mode.
func TestVerdictFromANestedCallIsRefused(t *testing.T) {
	mod := cbuild.WasmPlugin(t, "verdict")
	for _, m := range poolModes {
		t.Run(m.name, func(t *testing.T) {
			var (
				mu  sync.Mutex
				rcs []int
				g   *guest
			)
			sink := clawd.SinkFunc(func(ctx context.Context, e clawd.Event) error {
				require.NotContains(t, e.Method, "hook.", "a hook event reached the sink")
				switch e.Method {
				case "verdict.nest":
					return g.Call(ctx, clawd.SessionStart("outer"))
				case "verdict.inner":
					return g.Call(ctx, clawd.SessionStart("inner"))
				case "verdict.rc":
					var v struct{ RC int }
					require.NoError(t, json.Unmarshal(e.Params, &v))
					mu.Lock()
					rcs = append(rcs, v.RC)
					mu.Unlock()
				}
				return nil
			})
			opts := append([]clawd.Option{clawd.WithHooks(clawd.HookToolCall), clawd.WithEventSink(sink)}, m.opts...)
			g = open(t, mod, opts...)
			take := func() []int {
				mu.Lock()
				defer mu.Unlock()
				r := rcs
				rcs = nil
				return r
			}

			v, err := g.Hook(context.Background(), clawd.ToolCall("s", "nest", "{}"))
			require.NoError(t, err)
			require.Equal(t, clawd.Verdict{}, v, "a nested call gave the outer call's verdict")
			require.Equal(t, []int{int(abi.NotFound), 0}, take(), "the nested block, then the sink's answer")
			st := g.Stats()
			require.Equal(t, uint64(1), st.HookRefused)
			require.Equal(t, uint64(0), st.HookVerdicts)

			v, err = g.Hook(context.Background(), clawd.ToolCall("s", "block", "{}"))
			require.NoError(t, err)
			require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "in flight", Plugin: "verdict"}, v)
			require.Equal(t, []int{0}, take())

			// A block on the context of a nested call that returned: stale,
			// NotFound as in the other runtimes, counted.
			v, err = g.Hook(context.Background(), clawd.ToolCall("s", "after_nested", "{}"))
			require.NoError(t, err)
			require.Equal(t, clawd.Verdict{}, v)
			require.Equal(t, []int{0, int(abi.NotFound)}, take(), "the sink's answer, then the stale block")
			st = g.Stats()
			require.Equal(t, uint64(1), st.StaleEvents)
			require.Equal(t, uint64(2), st.HookRefused)
			require.Equal(t, uint64(1), st.HookVerdicts)
		})
	}
}
