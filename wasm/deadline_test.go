package wasm_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/wasminterrupt"
	"github.com/clawd-go/clawd/wasm"
)

// A guest that spins, sleeps or recurses without end returns timeout
// under WithCallTimeout as under a context's deadline (the instrumented
// checks, the watchdog), and its instance is discarded. No call here must
// succeed: the timeout bounds every call, and a busy machine could make
// one miss it (TestDeadlineEndsSleepsAndPolls shows the next call runs
// in a fresh instance).
func TestDeadlineCallTimeout(t *testing.T) {
	g := open(t, cbuildWasm(t, "wasm_block"), clawd.WithCallTimeout(100*time.Millisecond))
	for i, tool := range []string{"spin", "sleep", "deep"} {
		codeIs(t, g.Call(bg, clawd.ToolCall("s", tool, "{}")), clawerr.Timeout, "past its deadline")
		require.Equal(t, uint64(i+1), g.Crashes(), tool)
	}
}

// A spinning guest while the process collects garbage without pause: a
// collection stops every goroutine, and compiled guest code is never
// preempted, so a guest that never came back into Go would hold the
// collection, and the watchdog with it, for ever. The checks pass through
// Go every wasminterrupt.Reload checks: the call returns timeout. (A hang
// here is what the test binary's -timeout catches.)
func TestDeadlineUnderGC(t *testing.T) {
	g := open(t, cbuildWasm(t, "wasm_block"))
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	for _, tool := range []string{"spin", "deep"} {
		ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
		err := g.Call(ctx, clawd.ToolCall("s", tool, "{}"))
		cancel()
		codeIs(t, err, clawerr.Timeout, "past its deadline")
	}
	close(stop)
	<-done
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "count", "{}")))
}

// A cancellation interrupts a spinning guest too: unavailable. The
// context is canceled from the sink of an event the guest sends before it
// spins, so nothing here waits on time.
func TestCancelInterruptsSpin(t *testing.T) {
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	g := open(t, cbuildWasm(t, "wasm_guest"), clawd.WithEventSink(clawd.SinkFunc(func(context.Context, clawd.Event) error {
		cancel()
		return nil
	})))
	codeIs(t, g.Call(ctx, clawd.ToolCall("s", "send-loop", "{}")), clawerr.Unavailable, "canceled")
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "count", "{}")))
}

// The guest cannot find or clear the flag: a module that exports the name
// the host reserves for it is refused at Open, saying so; the rewriter
// refuses any instruction naming a global past the module's own
// (internal/wasminterrupt's tests).
func TestReservedExportRefused(t *testing.T) {
	_, err := tryOpen(cbuildWasm(t, "wasm_guest", "-DEXPORT_RESERVED"))
	codeIs(t, err, clawerr.OpenFailed, "instrumented for deadlines", wasminterrupt.Flag, "rename")
	// Without deadlines nothing is instrumented, and the name is free.
	open(t, cbuildWasm(t, "wasm_guest", "-DEXPORT_RESERVED"), wasm.WithDeadlines(false))
}

// With deadlines on and the context carrying a deadline, a call allocates
// nothing: the watchdog's registration is preallocated.
func TestDeadlineCallAllocs(t *testing.T) {
	p, err := wasm.OpenPlugin(cbuildWasm(t, "bench"), clawd.WithCallTimeout(time.Hour))
	require.NoError(t, err)
	defer p.Close()
	ctx, cancel := context.WithTimeout(bg, time.Hour)
	defer cancel()
	c := clawd.ToolCall(benchSession, benchTool, benchInput)
	for _, ctx := range []context.Context{bg, ctx} {
		n := testing.AllocsPerRun(200, func() {
			if err := p.Call(ctx, c); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, n, "allocs per call")
	}
}
