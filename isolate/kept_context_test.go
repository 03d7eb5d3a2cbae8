package isolate_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
)

// keptUses is how many late uses of a kept context the keeper plugin makes.
const keptUses = 10000

// The sandboxed twin of the loader's test: the plugin keeps the context of
// one call and uses it from its own thread at random moments while the host
// calls it back to back through the child. The child judges each late use
// as the loader does; at least 999 in 1000 must be refused as stale.
func TestKeptContextIsRefusedWhileCallsGoOn(t *testing.T) {
	var late atomic.Uint64
	core, logs := observer.New(zapcore.InfoLevel)
	p, err := isolate.OpenPlugin(cbuild.Plugin(t, "keeper"), clawd.WithLogger(zap.New(core)),
		clawd.WithCapabilities(abi.CapNetworkRelay),
		clawd.WithEventSink(clawd.SinkFunc(func(_ context.Context, e clawd.Event) error {
			if e.Method == "keeper.late" {
				late.Add(1)
			}
			return nil
		})))
	require.NoError(t, err)
	defer p.Close()

	ctx := context.Background()
	call := func(tool string) error { return p.Call(ctx, clawd.ToolCall("s", tool, "{}")) }
	require.NoError(t, call(fmt.Sprintf("keep:%d:%d", keptUses, 0x85ebca6b)))
	calls := 0
	for {
		err := call("tick")
		calls++
		if errors.Is(err, abi.NotFound) {
			break
		}
		require.NoError(t, err)
	}
	require.NoError(t, call("report"))
	var accepted, refused, other uint64
	reports := logs.FilterMessageSnippet("late:").All()
	require.Len(t, reports, 1)
	_, err = fmt.Sscanf(reports[0].Message, "late:%d:%d:%d", &accepted, &refused, &other)
	require.NoError(t, err, reports[0].Message)
	t.Logf("%d late uses during %d calls: %d refused, %d accepted (%.3f%% refused)",
		keptUses, calls, refused, accepted, 100*float64(refused)/keptUses)

	require.Zero(t, other, "a late use is refused (DaemonError) or accepted, nothing else")
	require.Equal(t, uint64(keptUses), accepted+refused)
	st := p.Stats()
	require.Equal(t, refused, st.StaleEvents, "the child counts every refused use as stale")
	require.Equal(t, accepted, late.Load(), "every accepted use reached the host's sink")
	require.GreaterOrEqual(t, refused*1000, uint64(999*keptUses),
		"refused %d of %d late uses", refused, keptUses)
}
