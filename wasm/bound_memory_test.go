package wasm_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/wasm"
)

// The host's memory for one plugin stays within 2x its cap per
// instance, pools included: a pool of 2 instances, each filling its
// 16 MiB linear memory and trying to go past it, costs the host's heap
// less than 2 x 2 x 16 MiB (a reservation commits what the guest grew;
// where memory is a Go slice, its spare capacity is at most a quarter of
// its length past 256 KiB).
func TestHostMemoryWithinMultipleOfCap(t *testing.T) {
	const capMB = 16
	mod := cbuildWasm(t, "wasm_guest")
	before := heapInUse()
	g := open(t, mod, clawd.WithMemoryLimitMB(capMB), clawd.WithConcurrent(true), wasm.WithPoolSize(2))
	// The guest's malloc takes at most 7 MiB at once: fill each memory in
	// steps. The pool's free slots serve in turn, so the two calls of a
	// round run in the two instances.
	for _, mb := range []string{"6", "6", "2", "1", "1", "1"} {
		for i := 0; i < 2; i++ {
			if err := g.Call(bg, clawd.ToolCall("s", "grow:"+mb, "{}")); err != nil {
				codeIs(t, err, clawerr.CallbackError) // past the cap: malloc fails
			}
		}
	}
	for i := 0; i < 2; i++ {
		codeIs(t, g.Call(bg, clawd.ToolCall("s", "grow:1", "{}")), clawerr.CallbackError)
	}
	require.Equal(t, 2, g.Instances())
	// The guests' memories: the Go heap, or reservations outside it.
	after := heapInUse() + wasm.MemoryCommitted(g.Plugin)
	grew := float64(int64(after)-int64(before)) / float64(2*capMB<<20)
	t.Logf("pool of 2, cap %d MiB, both full: the host's heap grew %.2fx the instances' caps", capMB, grew)
	assert.Less(t, grew, 2.0)
	assert.Greater(t, grew, 0.8, "both instances did fill their memory")
}
