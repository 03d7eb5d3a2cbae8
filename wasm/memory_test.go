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

const page = 64 << 10

// A guest that grows its memory to 192 MiB in 64 MiB steps keeps it where
// it was (no copy), commits what it grew and no more, and is refused past
// its cap.
func TestMemoryGrowsInPlace(t *testing.T) {
	if !wasm.Reserves() {
		t.Skip("this OS gives linear memories no reservation: they grow as Go slices")
	}
	g := open(t, cbuildWasm(t, "wasm_guest"), clawd.WithMemoryLimitMB(256))
	base := wasm.MemoryBase(g.Plugin)
	require.NotNil(t, base)
	start := wasm.MemoryCommitted(g.Plugin)
	for i := 1; i <= 3; i++ {
		require.NoError(t, g.Call(bg, clawd.ToolCall("s", "pages:1024", "{}")))
		require.Same(t, base, wasm.MemoryBase(g.Plugin), "grow %d moved the memory", i)
		require.GreaterOrEqual(t, wasm.MemorySize(g.Plugin), start+uint64(i)*1024*page)
		require.Equal(t, wasm.MemorySize(g.Plugin), wasm.MemoryCommitted(g.Plugin), "committed is what the guest has")
	}
	// 192 MiB and what the guest started with: another 64 MiB is past 256.
	grown := wasm.MemoryCommitted(g.Plugin)
	codeIs(t, g.Call(bg, clawd.ToolCall("s", "pages:1024", "{}")), clawerr.CallbackError)
	require.Equal(t, grown, wasm.MemoryCommitted(g.Plugin))
}

// An idle plugin costs the host what its guest uses, whatever its cap:
// the same module under a 16 MiB and a 4 GiB cap commits the same.
func TestIdleMemoryDoesNotGrowWithCap(t *testing.T) {
	if !wasm.Reserves() {
		t.Skip("this OS gives linear memories no reservation: they grow as Go slices")
	}
	mod := cbuildWasm(t, "wasm_guest")
	small := open(t, mod, clawd.WithMemoryLimitMB(16))
	large := open(t, mod, clawd.WithMemoryLimitMB(4096))
	require.NotZero(t, wasm.MemoryCommitted(small.Plugin))
	require.Equal(t, wasm.MemoryCommitted(small.Plugin), wasm.MemoryCommitted(large.Plugin))
	require.Less(t, wasm.MemoryCommitted(large.Plugin), uint64(16<<20))
}

// A reservation goes with its instance: one replaced after a trap, and
// all of them at Close.
func TestMemoryReleasedWithItsInstance(t *testing.T) {
	if !wasm.Reserves() {
		t.Skip("this OS gives linear memories no reservation: they grow as Go slices")
	}
	g := open(t, cbuildWasm(t, "wasm_guest"), clawd.WithMemoryLimitMB(64))
	start := wasm.MemoryCommitted(g.Plugin)
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "pages:256", "{}")))
	require.GreaterOrEqual(t, wasm.MemoryCommitted(g.Plugin), start+256*page)
	codeIs(t, g.Call(bg, clawd.ToolCall("s", "trap", "{}")), clawerr.Crashed)
	// The new instance starts over; the trapped one's 16 MiB are gone.
	require.Equal(t, start, wasm.MemoryCommitted(g.Plugin))
	require.NoError(t, g.Close())
	require.Zero(t, wasm.MemoryCommitted(g.Plugin))
}

// A guest stopped by its deadline in a loop, its module closed by the
// runtime while it ran, leaves a memory the host can still use and free:
// the call returns timeout and the next call runs in a new instance.
func TestDeadlineWithReservedMemory(t *testing.T) {
	// The deadline is the loop's alone: the calls that must succeed have
	// none to miss on a busy machine.
	g := open(t, cbuildWasm(t, "wasm_guest"), clawd.WithMemoryLimitMB(64))
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "pages:16", "{}")))
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	codeIs(t, g.Call(ctx, clawd.ToolCall("s", "loop", "{}")), clawerr.Timeout)
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "pages:16", "{}")))
}
