package isolate_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
)

// A child that sends events and then crashes, before anyone asked for its
// counters: they are kept, and added to the new child's. Every event the
// sink took is in Stats, the crashed child's too.
func TestStatsOutliveACrash(t *testing.T) {
	states := make(chan clawd.State, 16)
	r := open(t, cbuild.Plugin(t, "echo"), clawd.WithCapabilities(abi.CapNetworkRelay),
		isolate.WithRestart(5, time.Millisecond, time.Millisecond),
		clawd.WithStateFunc(func(s clawd.State, _ error) { states <- s }))
	for range 3 {
		require.NoError(t, r.p.ToolCall(bg, "s1", "grep", "{}"))
	}
	requireCode(t, r.p.ToolCall(bg, "s1", "crash", "{}"), clawerr.Crashed)
	require.Equal(t, clawd.StateDown, <-states)
	require.Equal(t, clawd.StateUp, <-states)
	require.NoError(t, r.p.ToolCall(bg, "s1", "grep", "{}"))

	r.mu.Lock()
	seen := uint64(len(r.events))
	r.mu.Unlock()
	// on_load and four on_tool_call in the first child (the crashing call
	// sent its event before it faulted), on_load and one in the second.
	require.Equal(t, uint64(7), seen)
	st := r.p.Stats()
	assert.Equal(t, seen, st.EventsSent, "the crashed child's events are counted")
	assert.Zero(t, st.EventsRefused)
	require.NoError(t, r.p.Close())
	r.mu.Lock()
	seen = uint64(len(r.events))
	r.mu.Unlock()
	require.Equal(t, uint64(8), seen, "on_unload sent one more")
	assert.Equal(t, seen, r.p.Stats().EventsSent, "and still after Close")
}
