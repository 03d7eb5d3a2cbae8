package loader_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/loader"
)

// batchSet opens the plugins a batch is compared on: echo, unknown_code
// (every callback fails with a code ABI v1 lacks), echo; each its own
// library (set names the variants, so that two sets never share a mapping
// and its globals).
func batchSet(t *testing.T, set string) []*rig {
	t.Helper()
	return []*rig{
		open(t, cbuild.Plugin(t, "echo", fmt.Sprintf(`-DECHO_NAME="%s-a"`, set))),
		open(t, cbuild.Plugin(t, "unknown_code", fmt.Sprintf(`-DBATCH_SET="%s"`, set))),
		open(t, cbuild.Plugin(t, "echo", fmt.Sprintf(`-DECHO_NAME="%s-c"`, set))),
	}
}

// newBatch returns an empty batch.
func newBatch(t *testing.T) *loader.Batch {
	t.Helper()
	b, err := loader.NewBatch()
	require.NoError(t, err)
	return b
}

// warm makes one call on each plugin the ordinary way: its serial ring's
// first chunk of contexts and its argument buffer are made, which only the
// Go side makes.
func warm(t *testing.T, rs ...*rig) {
	t.Helper()
	for _, r := range rs {
		require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "warm", "{}")))
	}
}

// runAll runs every admitted call, the ones the batch stops at the
// ordinary way (as the host does), and empties the batch; the outcomes in
// admission order.
func runAll(t *testing.T, b *loader.Batch, ps []clawd.Plugin, c clawd.Call) []error {
	t.Helper()
	require.Equal(t, len(ps), b.Len())
	errs := make([]error, len(ps))
	for k := 0; k < len(ps); {
		stop := b.Run(k)
		for ; k < stop; k++ {
			_, errs[k] = b.Result(k)
		}
		if stop < len(ps) {
			errs[stop] = ps[stop].Call(bg, c)
			k = stop + 1
		}
	}
	b.Reset()
	return errs
}

// describe is what a call left in one plugin: its outcome, its log lines
// and its counters, with the set's name taken out.
func describe(r *rig, err error, set string) string {
	var b strings.Builder
	if err != nil {
		var ce *clawerr.Error
		if errors.As(err, &ce) {
			fmt.Fprintf(&b, "error %s %s %q %v; ", ce.Code, ce.Op, ce.Detail, ce.Err)
		} else {
			fmt.Fprintf(&b, "error %v; ", err)
		}
	}
	for _, e := range r.logs.TakeAll() {
		fmt.Fprintf(&b, "log %s %q %v; ", e.Level, e.Message, e.ContextMap())
	}
	fmt.Fprintf(&b, "stats %+v", r.p.Stats())
	return strings.ReplaceAll(b.String(), set+"-", "SET-")
}

// The calls both paths make: each op, a failing tool, an interior NUL.
var batchCalls = []clawd.Call{
	clawd.SessionStart("s1"),
	clawd.ToolCall("s1", "grep", `{"q":"x"}`),
	clawd.ToolCall("s1", "fail", `{}`),
	clawd.Message("s1", "user", `"hello"`),
	clawd.ToolCall("s1", "gr\x00ep", `{"q":"x"}`),
	clawd.Message("s\x00", "user", `""`),
	clawd.SessionEnd("s1"),
}

func TestBatchMatchesSerial(t *testing.T) {
	if !loader.Batching {
		t.Skip("batches need cgo; TestBatchWithoutCgoAdmitsNothing covers this build")
	}
	serial, batched := batchSet(t, "ser"), batchSet(t, "bat")
	for _, r := range batched {
		r.logs.TakeAll() // on_load's lines; the serial set's are dropped below
	}
	for _, r := range serial {
		r.logs.TakeAll()
	}
	b := newBatch(t)
	for _, c := range batchCalls {
		var want, got []string
		for _, r := range serial {
			want = append(want, describe(r, r.p.Call(bg, c), "ser"))
		}
		// As the host does: what the batch does not admit (a plugin
		// without the callback; a call with a NUL, which the ordinary
		// path refuses) takes the ordinary path.
		var in []int
		for i, r := range batched {
			if b.Admit(bg, r.p, &c) {
				in = append(in, i)
			} else if !strings.Contains(c.Args[0]+c.Args[1], "\x00") {
				require.False(t, r.p.Has(c.Op.Callback()), "plugin %d, call %+v", i, c)
			}
		}
		require.Equal(t, len(in), b.Len())
		if !strings.Contains(c.Args[0]+c.Args[1], "\x00") {
			require.GreaterOrEqual(t, len(in), 2)
		}
		var ps []clawd.Plugin
		for _, i := range in {
			ps = append(ps, batched[i].p)
		}
		outs := make([]error, len(batched))
		for k, err := range runAll(t, b, ps, c) {
			outs[in[k]] = err
		}
		require.Zero(t, b.Len(), "Reset empties the batch")
		for i, r := range batched {
			if !slices.Contains(in, i) {
				outs[i] = r.p.Call(bg, c)
			}
			got = append(got, describe(r, outs[i], "bat"))
		}
		assert.Equal(t, want, got, "call %+v", c)
	}
	// A failing plugin in the middle fails only its own outcome.
	c := clawd.ToolCall("s1", "grep", "{}")
	for _, r := range batched {
		require.True(t, b.Admit(bg, r.p, &c))
	}
	require.Equal(t, len(batched), b.Run(0))
	for i := range batched {
		_, err := b.Result(i)
		if i == 1 {
			assert.Equal(t, clawerr.UnknownCode, clawerr.CodeOf(err))
		} else {
			assert.NoError(t, err)
		}
	}
}

func TestBatchTimesEachCallback(t *testing.T) {
	if !loader.Batching {
		t.Skip("batches need cgo")
	}
	r := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="timed"`))
	warm(t, r)
	b := newBatch(t)
	sleep := clawd.ToolCall("s", "sleep:20", "{}")
	admitted := b.Admit(bg, r.p, &sleep)
	require.True(t, admitted)
	require.Equal(t, 1, b.Run(0))
	d, err := b.Result(0)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, d, 20*time.Millisecond, "the callback's own duration, read in C")
}

// The shim reads the clock at a batch's ends and apportions the span by
// the ticks each callback took: the one that sleeps gets its sleep, not
// an even share, and the quick ones around it get less.
func TestBatchApportionsTimeToTheCallbackThatTookIt(t *testing.T) {
	if !loader.Batching {
		t.Skip("batches need cgo")
	}
	quick1 := open(t, cbuild.Plugin(t, "bench"))
	slow := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="timed"`))
	quick2 := open(t, cbuild.Plugin(t, "bench", "-DBENCH_COPY=2"))
	warm(t, quick1, slow, quick2)
	b := newBatch(t)
	c := clawd.ToolCall("s", "sleep:20", "{}") // bench ignores the tool, echo sleeps
	for _, r := range []*rig{quick1, slow, quick2} {
		admitted := b.Admit(bg, r.p, &c)
		require.True(t, admitted)
	}
	require.Equal(t, 3, b.Run(0))
	var d [3]time.Duration
	for i := range d {
		var err error
		d[i], err = b.Result(i)
		require.NoError(t, err)
	}
	assert.GreaterOrEqual(t, d[1], 20*time.Millisecond, "the sleeping callback's duration")
	assert.Less(t, d[0], d[1], "a quick callback before it")
	assert.Less(t, d[2], d[1], "a quick callback after it")
}

// A plugin whose lock another call holds is not called in C: the batch
// stops before it, the caller makes that call the ordinary way (waiting
// for the lock) and runs on from the next.
func TestBatchStopsAtBusyPlugin(t *testing.T) {
	if !loader.Batching {
		t.Skip("batches need cgo")
	}
	a := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="first"`))
	busy := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="busy"`))
	c := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="last"`))
	warm(t, a, busy, c)
	for _, r := range []*rig{a, busy, c} {
		r.logs.TakeAll() // on_load's and warm's lines
	}
	b := newBatch(t)
	call := clawd.ToolCall("s", "hello", "{}")
	for _, r := range []*rig{a, busy, c} {
		admitted := b.Admit(bg, r.p, &call)
		require.True(t, admitted, "admission takes no lock")
	}
	unlock := loader.HoldLock(busy.p)
	held := true
	t.Cleanup(func() {
		if held {
			unlock()
		}
	})
	require.Equal(t, 1, b.Run(0), "stops before the busy plugin")
	_, err := b.Result(0)
	require.NoError(t, err)
	assert.NotZero(t, a.logs.Len(), "the first call was made")
	assert.Zero(t, busy.logs.Len(), "the busy plugin was not called")
	// The ordinary path waits for the lock: give it back once the call
	// waits for it.
	done := make(chan error, 1)
	go func() { done <- busy.p.Call(bg, call) }()
	for loader.Waiters(busy.p) == 0 {
		runtime.Gosched()
	}
	held = false
	unlock()
	require.NoError(t, <-done)
	assert.NotZero(t, busy.logs.Len(), "the ordinary path made the call")
	require.Equal(t, 3, b.Run(2), "runs on from the next")
	_, err = b.Result(2)
	require.NoError(t, err)
	assert.NotZero(t, c.logs.Len())
	b.Reset()
}

// A plugin closed after it was admitted is not called: the batch stops
// before it, and the ordinary path refuses it (closed).
func TestBatchPluginClosedDuringDispatch(t *testing.T) {
	if !loader.Batching {
		t.Skip("batches need cgo")
	}
	a := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="closing"`))
	c := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="staying"`))
	b := newBatch(t)
	call := clawd.ToolCall("s", "grep", "{}")
	for _, r := range []*rig{a, c} {
		admitted := b.Admit(bg, r.p, &call)
		require.True(t, admitted)
	}
	require.NoError(t, a.p.Close())
	errs := runAll(t, b, []clawd.Plugin{a.p, c.p}, call)
	assert.Equal(t, clawerr.Closed, clawerr.CodeOf(errs[0]), "closed before its turn: refused")
	assert.NoError(t, errs[1], "the other plugin is unaffected")
	b.Reset()
	require.True(t, b.Admit(bg, a.p, &call), "a ticket outlives Close")
	errs = runAll(t, b, []clawd.Plugin{a.p}, call)
	assert.Equal(t, clawerr.Closed, clawerr.CodeOf(errs[0]))
	// Its lock was given back: a waiter would not wait forever.
	unlock := loader.HoldLock(a.p)
	unlock()
}

// The serial ring's chunks of contexts are made in Go: where a batch
// reaches a plugin whose ring is at a chunk still to be made, Run makes it
// and goes on, so that every call is made in C, and counted in the cell.
func TestBatchGrowsTheRing(t *testing.T) {
	if !loader.Batching {
		t.Skip("batches need cgo")
	}
	r := open(t, cbuild.Plugin(t, "bench"))
	b := newBatch(t)
	call := clawd.ToolCall("s", "grep", "{}")
	const calls = 300 // five chunks
	for range calls {
		admitted := b.Admit(bg, r.p, &call)
		require.True(t, admitted)
		require.Equal(t, 1, b.Run(0))
		_, err := b.Result(0)
		require.NoError(t, err)
		b.Reset()
	}
	require.NoError(t, r.p.Call(bg, call), "the ordinary path is not counted in the cell")
	l := loader.Measured(r.p)
	var n uint64
	for _, k := range l.Buckets {
		n += k
	}
	assert.Equal(t, uint64(calls), n)
	assert.LessOrEqual(t, l.Max, l.Total)
}

func TestBatchAdmitsOnlyWhatItCanRun(t *testing.T) {
	if !loader.Batching {
		t.Skip("batches need cgo")
	}
	b := newBatch(t)
	call := clawd.ToolCall("s", "grep", "{}")
	relayed := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="relayed"`), relay())
	assert.False(t, b.Admit(bg, relayed.p, &call), "its sink could call back into a plugin the batch holds")
	conc := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="conc"`), clawd.WithConcurrent(true))
	assert.False(t, b.Admit(bg, conc.p, &call))
	plain := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="plain"`))
	warm(t, plain)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	assert.False(t, b.Admit(ctx, plain.p, &call))
	assert.ErrorIs(t, plain.p.Call(ctx, call), context.Canceled, "the ordinary path refuses it")
	require.True(t, b.Admit(bg, plain.p, &call))
	other := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="other"`))
	otherCall := clawd.ToolCall(strings.Clone("s"), "grep", "{}")
	assert.False(t, b.Admit(bg, other.p, &otherCall), "another call cannot join this run")
	big := clawd.ToolCall("s", "grep", `"`+strings.Repeat("x", 1<<17)+`"`)
	b.Reset()
	assert.False(t, b.Admit(bg, plain.p, &big), "arguments too large for a batch take the ordinary path")
	// Input that is not JSON is not staged: the ordinary path refuses it.
	notJSON := clawd.ToolCall("s", "grep", `{"q":`)
	assert.False(t, b.Admit(bg, plain.p, &notJSON))
	err := plain.p.Call(bg, notJSON)
	assert.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(err))
	assert.ErrorIs(t, err, clawd.ErrNotJSON)
	assert.Zero(t, b.Len())
	assert.True(t, b.Admit(bg, plain.p, &call))
	assert.Equal(t, 1, b.Run(0))
	b.Reset()
}

func TestBatchWithoutCgoAdmitsNothing(t *testing.T) {
	if loader.Batching {
		t.Skip("this build batches")
	}
	r := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="purego"`))
	b := newBatch(t)
	call := clawd.ToolCall("s", "grep", "{}")
	assert.False(t, b.Admit(bg, r.p, &call))
	assert.Zero(t, b.Run(0), "nothing to run")
}

// Drop takes the last admitted call back: it is never made.
func TestBatchDropTakesBackTheLastCall(t *testing.T) {
	if !loader.Batching {
		t.Skip("batches need cgo")
	}
	kept := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="kept"`))
	dropped := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="dropped"`))
	warm(t, kept, dropped)
	b := newBatch(t)
	c := clawd.ToolCall("s", "hello", "{}")
	for _, r := range []*rig{kept, dropped} {
		r.logs.TakeAll() // on_load's lines
		admitted := b.Admit(bg, r.p, &c)
		require.True(t, admitted)
	}
	b.Drop()
	require.Equal(t, 1, b.Len())
	require.Equal(t, 1, b.Run(0))
	_, err := b.Result(0)
	require.NoError(t, err)
	b.Reset()
	assert.NotZero(t, kept.logs.Len(), "the call kept logs its arguments")
	assert.Zero(t, dropped.logs.Len(), "the call dropped is never made")
	admitted := b.Admit(bg, dropped.p, &c)
	assert.True(t, admitted)
	b.Drop()
	assert.Zero(t, b.Len())
}

// Calls into a serialized plugin never overlap, whether the shim takes its
// lock in C (a call, a batch) or a caller waits for it in Go: the plugin
// aborts the process if two of its calls meet inside it. Callers that
// wait while a shim holds the lock are woken by its release.
func TestShimSerializesCalls(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "not_reentrant"))
	require.Equal(t, loader.Batching, loader.Shim(r.p), "made whole in C with cgo")
	call := clawd.ToolCall("s", "t", "{}")
	const goroutines, calls = 4, 10
	var wg sync.WaitGroup
	for g := range goroutines {
		b := newBatch(t)
		wg.Go(func() {
			for range calls {
				if g%2 == 1 && b.Admit(bg, r.p, &call) {
					if b.Run(0) == 0 { // busy: the ordinary way
						assert.NoError(t, r.p.Call(bg, call))
					} else {
						_, err := b.Result(0)
						assert.NoError(t, err)
					}
					b.Reset()
					continue
				}
				assert.NoError(t, toolCall(r.p, bg, "s", "t", "{}"))
			}
		})
	}
	wg.Wait()
	assert.Zero(t, loader.Waiters(r.p), "every waiter got the lock")
}
