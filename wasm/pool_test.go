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
// only ends if that many calls really run at once, and a pool that never
// runs them hangs until the test binary's -timeout.
type overlap struct {
	barrier      int32
	inside, peak atomic.Int32
	reached      chan struct{}
	once         sync.Once
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
	<-o.reached
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

// spinning is a sink for the guest's send-loop, which sends one event
// and then spins until its call is interrupted: the channel it returns is
// closed once the guest spins, holding its instance.
func spinning() (clawd.Option, <-chan struct{}) {
	c := make(chan struct{})
	var once sync.Once
	return clawd.WithEventSink(clawd.SinkFunc(func(context.Context, clawd.Event) error {
		once.Do(func() { close(c) })
		return nil
	})), c
}

// A fault in one instance of the pool discards that instance only: calls
// in the others run on while one spins until it is canceled, and go on
// succeeding after it is made again.
func TestPoolFaultDiscardsOneInstance(t *testing.T) {
	sink, spins := spinning()
	p := open(t, cbuildWasm(t, "wasm_guest"), clawd.WithConcurrent(true), wasm.WithPoolSize(2), sink)
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Call(ctx, clawd.ToolCall("s", "send-loop", "{}")) }()
	<-spins
	// The loop holds one instance until it is canceled; the other serves
	// these meanwhile (a pool that does not hangs here until -timeout).
	for i := 0; i < 20; i++ {
		require.NoError(t, p.Call(bg, clawd.ToolCall("s", "count", "{}")))
	}
	cancel()
	codeIs(t, <-done, clawerr.Unavailable, "canceled")
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
	sink, spins := spinning()
	p := open(t, cbuildWasm(t, "wasm_guest"), clawd.WithConcurrent(true), wasm.WithPoolSize(1), sink)
	loopCtx, cancelLoop := context.WithCancel(bg)
	defer cancelLoop()
	done := make(chan error, 1)
	go func() { done <- p.Call(loopCtx, clawd.ToolCall("s", "send-loop", "{}")) }()
	<-spins
	// The loop holds the only instance until it is canceled, so this call
	// waits until its own deadline however fast the machine is.
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	codeIs(t, p.Call(ctx, clawd.ToolCall("s", "count", "{}")), clawerr.Timeout, "not called")
	cancel()
	cancelLoop()
	codeIs(t, <-done, clawerr.Unavailable, "canceled")
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
