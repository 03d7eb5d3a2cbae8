package wasm_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/wasm"
)

// A guest that sleeps, polls a clock or spins for an hour under a short
// deadline returns timeout: the WASI sleep waits on the call's context,
// not for the hour. The instance is made again and serves the next call.
func TestDeadlineEndsSleepsAndPolls(t *testing.T) {
	g := open(t, cbuildWasm(t, "wasm_block"))
	for i, tool := range []string{"sleep", "nanosleep", "poll", "spin", "deep"} {
		ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
		err := g.Call(ctx, clawd.ToolCall("s", tool, "{}"))
		cancel()
		codeIs(t, err, clawerr.Timeout, "past its deadline")
		require.NoError(t, g.Call(bg, clawd.ToolCall("s", "count", "{}")), tool)
		require.Equal(t, "count:1", g.lines("count:")[i], tool) // a fresh instance: its first call
	}
	require.Equal(t, uint64(5), g.Crashes())
}

// clawd.WithCallTimeout bounds a sleeping call as a context's deadline
// does. No call here must succeed under the timeout, which a busy machine
// could make it miss.
func TestCallTimeoutEndsSleep(t *testing.T) {
	g := open(t, cbuildWasm(t, "wasm_block"), clawd.WithCallTimeout(100*time.Millisecond))
	codeIs(t, g.Call(bg, clawd.ToolCall("s", "sleep", "{}")), clawerr.Timeout)
	require.Equal(t, uint64(1), g.Crashes())
}

// A cancellation ends a sleep too: unavailable, as for a spinning call.
// The context is canceled from the sink of an event the guest cannot
// send, so the test waits on nothing but the call: cancel before the
// call, and the call is never made.
func TestCanceledSleep(t *testing.T) {
	g := open(t, cbuildWasm(t, "wasm_block"))
	ctx, cancel := context.WithCancel(bg)
	cancel()
	codeIs(t, g.Call(ctx, clawd.ToolCall("s", "sleep", "{}")), clawerr.Unavailable, "not called")
}

// With deadlines off (WithDeadlines(false)) a spin is never interrupted,
// but a sleep still ends at the call's deadline: timeout.
func TestSleepEndsWithoutDeadlineChecks(t *testing.T) {
	g := open(t, cbuildWasm(t, "wasm_block"), wasm.WithDeadlines(false))
	ctx, cancel := context.WithTimeout(bg, 30*time.Millisecond)
	defer cancel()
	codeIs(t, g.Call(ctx, clawd.ToolCall("s", "sleep", "{}")), clawerr.Timeout)
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "count", "{}")))
}

// A constructor (run by _initialize) or an on_load that sleeps or spins
// for ever is bounded by the load timeout.
func TestLoadTimeoutBoundsHangs(t *testing.T) {
	for _, v := range []string{"-DSLEEP_ON_LOAD", "-DSPIN_ON_LOAD", "-DSLEEP_IN_CTOR", "-DSPIN_IN_CTOR"} {
		_, err := tryOpen(cbuildWasm(t, "wasm_block", v), wasm.WithLoadTimeout(100*time.Millisecond))
		codeIs(t, err, clawerr.Timeout)
	}
}
