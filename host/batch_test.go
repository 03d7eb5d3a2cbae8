package host_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/batch"
	"github.com/clawd-go/clawd/internal/cbuild"
)

// A dispatch to native plugins runs them in batches (one crossing into C,
// cgo builds) and the rest the ordinary way: the outcomes, their order, the
// order of the calls themselves, the logs and the counters are those of
// calling each plugin in turn. Here b may send events (so it is called
// the ordinary way, and its sink dispatches again from inside its call),
// c fails every callback in the middle of the others.
func TestDispatchInBatchesKeepsOrderAndOutcomes(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "a", "1.0.0", echo(t, "a", "1.0.0"))
	plugin(t, root, "b", "1.0.0", echo(t, "b", "1.0.0"), "network.relay")
	plugin(t, root, "c", "1.0.0", cbuild.Plugin(t, "unknown_code"))
	plugin(t, root, "d", "1.0.0", echo(t, "d", "1.0.0"))
	plugin(t, root, "e", "1.0.0", echo(t, "e", "1.0.0"))
	// A batch leaves out a plugin whose last call took the fan-out
	// threshold or more: with the default (50 us) a preemption on a busy
	// machine turned one call slow and the count below into 7. No call
	// here takes an hour, so which plugins batch depends on what the test
	// asserts, not on the machine's load.
	r := newRig(t, host.WithPluginDirs(root), host.WithParallelThreshold(time.Hour))
	var nested [][]host.Outcome
	r.onEvent = func(e clawd.Event) error {
		if e.Plugin == "b" && e.Method == "echo.on_tool_call" {
			nested = append(nested, r.h.Call(bg, clawd.SessionStart("nested")))
		}
		return nil
	}
	require.NoError(t, r.h.Load(bg))
	r.logs.TakeAll()

	outs := r.h.DispatchInto(bg, clawd.ToolCall("s1", "grep", `{"q":1}`), make([]host.Outcome, 0, 5))
	require.Equal(t, []string{"a", "b", "c", "d", "e"}, outcomeNames(outs))
	if batch.Available() {
		// a alone (run before b), then c, d, e; the same in the nested
		// dispatch: every call but b's.
		assert.Equal(t, uint64(8), host.BatchedCalls(r.h))
	} else {
		assert.Zero(t, host.BatchedCalls(r.h))
	}
	for i, o := range outs {
		if o.Plugin == "c" {
			assert.Equal(t, clawerr.UnknownCode, clawerr.CodeOf(o.Err))
		} else {
			assert.NoError(t, o.Err, "outcome %d", i)
		}
		assert.Positive(t, o.Duration, o.Plugin)
		assert.Equal(t, "1.0.0", o.Version)
	}
	require.Len(t, nested, 1, "b's sink dispatched once, from inside b's call")
	require.Equal(t, []string{"a", "b", "c", "d", "e"}, outcomeNames(nested[0]))
	assert.Equal(t, clawerr.UnknownCode, clawerr.CodeOf(nested[0][2].Err))
	for _, i := range []int{0, 1, 3, 4} {
		assert.NoError(t, nested[0][i].Err)
	}

	// The calls happened in the host's order, the nested dispatch inside b's.
	var seq []string
	for _, e := range r.logs.All() {
		if p, _ := e.ContextMap()["plugin"].(string); p != "" && (e.Message == "on_tool_call" || e.Message == "on_session_start") {
			seq = append(seq, p+":"+e.Message)
		}
	}
	assert.Equal(t, []string{
		"a:on_tool_call", "b:on_tool_call",
		"a:on_session_start", "b:on_session_start", "d:on_session_start", "e:on_session_start",
		"d:on_tool_call", "e:on_tool_call",
	}, seq)
	for _, p := range []string{"a", "d", "e"} {
		lines := r.lines(p)
		assert.Equal(t, 1, count(lines, "tool:grep"), p)
		assert.Equal(t, 1, count(lines, `input:{"q":1}`), p)
		assert.Equal(t, 2, count(lines, "send_event:3"), "%s: no network.relay: CapabilityDenied", p)
		st := info(t, r.h, p).Stats
		assert.Equal(t, uint64(2), st.Calls, p)
		assert.Equal(t, uint64(3), st.Context.EventsRefused, "%s: on_load's event and the two calls'", p)
		assert.Zero(t, st.Context.StaleLogs+st.Context.StaleEvents, p)
	}
	st := info(t, r.h, "c").Stats
	assert.Equal(t, uint64(2), st.Calls)
	assert.Equal(t, uint64(2), st.Errors[clawerr.UnknownCode])
	assert.Equal(t, uint64(3), info(t, r.h, "b").Stats.Context.EventsSent, "on_load's event and the two calls'")
}

// Dispatches from many goroutines at once: plugins busy in one dispatch are
// called the ordinary way by the others, and every call is made and counted
// exactly once.
func TestConcurrentDispatchesInBatches(t *testing.T) {
	root := t.TempDir()
	names := []string{"p0", "p1", "p2", "p3"}
	for _, n := range names {
		plugin(t, root, n, "1.0.0", echo(t, n, "1.0.0"))
	}
	// An hour's threshold: at least one call batches however slow the
	// machine made the others.
	r := newRig(t, host.WithPluginDirs(root), host.WithParallelThreshold(time.Hour))
	require.NoError(t, r.h.Load(bg))
	const goroutines, rounds = 4, 50
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			var outs []host.Outcome
			for range rounds {
				outs = r.h.DispatchInto(bg, clawd.ToolCall("s", "grep", "{}"), outs[:0])
				if assert.Len(t, outs, len(names)) {
					assert.Equal(t, names, outcomeNames(outs))
					assert.NoError(t, host.Errors(outs))
				}
			}
		})
	}
	wg.Wait()
	if batch.Available() {
		assert.Positive(t, host.BatchedCalls(r.h))
	}
	for _, n := range names {
		st := info(t, r.h, n).Stats
		assert.Equal(t, uint64(goroutines*rounds), st.Calls, n)
		assert.Equal(t, goroutines*rounds, count(r.lines(n), "tool:grep"), n)
	}
}

// DispatchInto appends to what dst holds and allocates nothing when dst
// has room.
func TestDispatchIntoAppends(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "a", "1.0.0", echo(t, "a", "1.0.0"))
	plugin(t, root, "b", "1.0.0", echo(t, "b", "1.0.0"))
	r := newRig(t, host.WithPluginDirs(root))
	require.NoError(t, r.h.Load(bg))
	prev := []host.Outcome{{Plugin: "earlier"}}
	outs := r.h.DispatchInto(bg, clawd.SessionStart("s"), prev)
	assert.Equal(t, []string{"earlier", "a", "b"}, outcomeNames(outs))
	assert.Empty(t, r.h.DispatchInto(bg, clawd.Call{Op: clawd.NumOps}, nil), "no plugin has an op out of range")
}

// A reload swaps an instance out while dispatches run it in batches: a
// batch holds no reference, but the shim refuses an instance closed
// meanwhile under its lock and the host makes that call on the current
// one, so no call fails as closed; and every call is counted once, the
// ones the retired instances measured in batches too.
func TestReloadWhileDispatchingInBatches(t *testing.T) {
	root := t.TempDir()
	names := []string{"alpha", "beta", "echo"}
	for _, n := range names {
		plugin(t, root, n, "1.0.0", echo(t, n, "1.0.0"))
	}
	// An hour's threshold: whether a call batches does not depend on how
	// long the busy machine made the last one take.
	r := newRig(t, host.WithPluginDirs(root), host.WithParallelThreshold(time.Hour))
	require.NoError(t, r.h.Load(bg))
	for range names {
		r.next(t)
	}
	var (
		stop       atomic.Bool
		dispatches = newProgress()
		wg         sync.WaitGroup
	)
	for range 2 {
		wg.Go(func() {
			var outs []host.Outcome
			for !stop.Load() {
				outs = r.h.DispatchInto(bg, clawd.ToolCall("s", "grep", "{}"), outs[:0])
				if assert.Len(t, outs, len(names)) {
					assert.Equal(t, names, outcomeNames(outs))
					assert.NoError(t, host.Errors(outs))
				}
				dispatches.add()
			}
		})
	}
	const reloads = 20
	for range reloads {
		dispatches.past(10)
		require.NoError(t, r.h.Reload("echo"))
		require.NoError(t, r.nextOf(t, "echo").Reason)
	}
	stop.Store(true)
	wg.Wait()
	if batch.Available() {
		assert.Positive(t, host.BatchedCalls(r.h))
	}
	st := info(t, r.h, "echo").Stats
	assert.Equal(t, uint64(reloads), st.Reloads)
	for _, n := range names {
		assert.Equal(t, uint64(dispatches.load()), info(t, r.h, n).Stats.Calls, n)
	}
	assert.Len(t, copies(t, r.h, "echo"), 1, "every swapped-out copy was retired")
}
