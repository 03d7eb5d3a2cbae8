package wasm_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/wasmopt"
	"github.com/clawd-go/clawd/wasm"
)

// overlap is a sink that counts the calls inside it at once: the example
// plugin sends an event from every on_tool_call, so a call is inside the
// sink while it runs in its instance. With barrier > 0 each event waits
// until barrier events are inside together (signalled, not slept): that
// only ends if that many calls really run at once.
type overlap struct {
	barrier      int32
	inside, peak atomic.Int32
	reached      chan struct{}
	once         sync.Once
	timeouts     atomic.Int32
}

func newOverlap(barrier int32) *overlap {
	return &overlap{barrier: barrier, reached: make(chan struct{})}
}

func (o *overlap) Deliver(context.Context, clawd.Event) error {
	n := o.inside.Add(1)
	defer o.inside.Add(-1)
	for {
		p := o.peak.Load()
		if n <= p || o.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if o.barrier == 0 {
		return nil
	}
	if n >= o.barrier {
		o.once.Do(func() { close(o.reached) })
	}
	select {
	case <-o.reached:
	case <-time.After(20 * time.Second): // a bound on a broken pool, not a measurement
		o.timeouts.Add(1)
	}
	return nil
}

func helloWasm(t testing.TB) string {
	t.Helper()
	return cbuild.WasmModule(t, "examples/c/hello/hello.c")
}

// A concurrent plugin serves calls from a pool: N calls really run at once
// (the barrier opens only then), never more than the pool's bound, and
// its instances are made only when calls need them.
func TestConcurrentPoolOverlaps(t *testing.T) {
	const size = 3
	o := newOverlap(size)
	p, err := wasm.OpenPlugin(helloWasm(t), clawd.WithConcurrent(true), wasm.WithPoolSize(size),
		clawd.WithCapabilities(abi.CapNetworkRelay), clawd.WithEventSink(o))
	require.NoError(t, err)
	defer p.Close()
	assert.Equal(t, 1, p.Instances(), "instances are made lazily: one at open")
	assert.Equal(t, size, p.Grants().Instances)

	var wg sync.WaitGroup
	errs := make(chan error, 2*size)
	for i := 0; i < 2*size; i++ { // more callers than instances: some wait for a free one
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- p.Call(bg, clawd.ToolCall("s", "grep", `{"q":1}`))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Zero(t, o.timeouts.Load(), "the barrier of %d calls inside at once never opened", size)
	assert.Equal(t, int32(size), o.peak.Load(), "at most the pool's bound run at once")
	assert.Equal(t, size, p.Instances())
	assert.Equal(t, uint64(2*size), p.Stats().EventsSent)
	require.NoError(t, p.Close())
	assert.Zero(t, p.Instances())
}

// A serialized plugin (concurrent not set) never runs two calls at once,
// whatever WithPoolSize says.
func TestSerializedNeverOverlaps(t *testing.T) {
	o := newOverlap(0)
	p, err := wasm.OpenPlugin(helloWasm(t), wasm.WithPoolSize(4),
		clawd.WithCapabilities(abi.CapNetworkRelay), clawd.WithEventSink(o))
	require.NoError(t, err)
	defer p.Close()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				assert.NoError(t, p.Call(bg, clawd.ToolCall("s", "grep", `{"q":1}`)))
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), o.peak.Load())
	assert.Equal(t, 1, p.Instances())
	assert.Equal(t, 1, p.Grants().Instances)
}

// A fault in one instance of the pool discards that instance only: calls
// in the others run on while one loops to its deadline, and go on
// succeeding after it is made again.
func TestPoolFaultDiscardsOneInstance(t *testing.T) {
	p := open(t, cbuildWasm(t, "wasm_guest"), clawd.WithConcurrent(true), wasm.WithPoolSize(2))
	var looping atomic.Bool
	looping.Store(true)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(bg, 3*time.Second)
		defer cancel()
		err := p.Call(ctx, clawd.ToolCall("s", "loop", "{}"))
		looping.Store(false)
		done <- err
	}()
	// The loop holds one instance; the other serves these meanwhile.
	overlapped := 0
	for i := 0; i < 20; i++ {
		require.NoError(t, p.Call(bg, clawd.ToolCall("s", "count", "{}")))
		if looping.Load() {
			overlapped++
		}
	}
	assert.Positive(t, overlapped, "no call ran while the other instance looped")
	codeIs(t, <-done, clawerr.Timeout)
	assert.Equal(t, uint64(1), p.Crashes())
	assert.Equal(t, uint64(1), p.Restarts())
	assert.Equal(t, 2, p.Instances())
	codeIs(t, p.Call(bg, clawd.ToolCall("s", "trap", "{}")), clawerr.Crashed, "trap in on_tool_call")
	for i := 0; i < 4; i++ {
		require.NoError(t, p.Call(bg, clawd.ToolCall("s", "count", "{}")))
	}
	assert.Equal(t, uint64(2), p.Restarts())
	assert.Equal(t, clawd.StateUp, p.State())
	// Each instance counts its own calls: the one that looped started again.
	var counts []string
	for _, l := range p.lines("count:") {
		counts = append(counts, strings.TrimPrefix(l, "count:"))
	}
	assert.Len(t, counts, 24)
}

// A call that finds every instance of the pool busy waits for one, or for
// its context.
func TestPoolWaitsForAFreeInstance(t *testing.T) {
	p := open(t, cbuildWasm(t, "wasm_guest"), clawd.WithConcurrent(true), wasm.WithPoolSize(1))
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(bg, 2*time.Second)
		defer cancel()
		done <- p.Call(ctx, clawd.ToolCall("s", "loop", "{}"))
	}()
	// Until the loop holds the only instance, count calls get through;
	// then one waits for it until its own deadline.
	waited := false
	for p.Crashes() == 0 && !waited {
		ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
		err := p.Call(ctx, clawd.ToolCall("s", "count", "{}"))
		cancel()
		if err != nil {
			codeIs(t, err, clawerr.Timeout)
			waited = true
		}
	}
	assert.True(t, waited, "no call waited for the busy instance")
	codeIs(t, <-done, clawerr.Timeout)
	require.NoError(t, p.Call(bg, clawd.ToolCall("s", "count", "{}")))
}

func TestPoolSizeOption(t *testing.T) {
	_, err := wasm.OpenPlugin(helloWasm(t), clawd.WithConcurrent(true), wasm.WithPoolSize(0))
	codeIs(t, err, clawerr.InvalidArgument, "pool size 0")
	assert.Equal(t, wasmopt.DefaultPoolSize(), wasmopt.GrantsFor(clawd.WithConcurrent(true)).Instances)
}

// Verdicts from a pool: calls in different instances at once each get
// their own call's verdict.
func TestPoolHookVerdicts(t *testing.T) {
	g := open(t, cbuild.WasmPlugin(t, "hook"), clawd.WithHooks(clawd.HookToolCall), clawd.WithConcurrent(true), wasm.WithPoolSize(2))
	plan := strings.Repeat("I", 200) // intercept at every step K: {"n":K} becomes {"n":K+1}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				n := w*50 + i
				v, err := g.Hook(bg, clawd.ToolCall("s", plan, `{"n":`+itoa(n)+`}`))
				if assert.NoError(t, err) {
					assert.Equal(t, clawd.Verdict{Kind: clawd.Intercept, Input: `{"n":` + itoa(n+1) + `}`, Plugin: "hook"}, v)
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, uint64(200), g.Stats().HookVerdicts)
}
