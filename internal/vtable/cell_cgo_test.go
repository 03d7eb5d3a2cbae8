//go:build cgo

package vtable

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"

	"github.com/clawd-go/clawd/internal/clawctx"
)

// The shims read and write clawctx.Cell as their clawd_cell: every field
// at the same offset, the same size.
func TestCellLayout(t *testing.T) {
	var c clawctx.Cell
	want := [17]uintptr{
		unsafe.Offsetof(c.Lock), unsafe.Offsetof(c.Waiters), unsafe.Offsetof(c.Closed),
		unsafe.Offsetof(c.I), unsafe.Offsetof(c.Ctx), unsafe.Offsetof(c.Idx),
		unsafe.Offsetof(c.Chunk), unsafe.Offsetof(c.N), unsafe.Offsetof(c.Step),
		unsafe.Offsetof(c.Buf), unsafe.Offsetof(c.BufLen), unsafe.Offsetof(c.Bases),
		unsafe.Offsetof(c.Firsts), unsafe.Offsetof(c.Latency) + unsafe.Offsetof(c.Latency.Total),
		unsafe.Offsetof(c.Latency) + unsafe.Offsetof(c.Latency.Max),
		unsafe.Offsetof(c.Latency) + unsafe.Offsetof(c.Latency.Buckets), unsafe.Sizeof(c),
	}
	assert.Equal(t, want, cellLayout())
	assert.Equal(t, clawctx.ChunkLen, 64, "CLAWD_CHUNK")
	assert.Equal(t, clawctx.RingChunks, 64, "CLAWD_RING")
	assert.Equal(t, clawctx.LatencyBuckets, 8, "CLAWD_BUCKETS")
}
