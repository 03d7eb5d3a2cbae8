package loader

import (
	"sync/atomic"
	"time"

	"github.com/clawd-go/clawd/internal/batch"
)

// SetUnmapAlways makes Close unmap the library whatever the thread census
// says: the behaviour without the census, for the test that shows what it
// prevents.
func SetUnmapAlways(v bool) { unmapAlways = v }

// The native runtime's batch, for its tests (the host finds it through
// internal/batch).
type Batch = nativeBatch

func NewBatch() (*Batch, error) { return newNativeBatch(TestBounds) }

// TestBounds are the latency buckets' bounds of the tests' batches: 1us to 1s.
var TestBounds = batch.Bounds{time.Microsecond, 10 * time.Microsecond, 100 * time.Microsecond,
	time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, time.Second}

// Measured is what batches measured of p.
func Measured(p *Plugin) batch.Latency { return measured(p) }

const (
	Batching = batching
	MaxBatch = maxBatch
)

// HoldLock takes p's serialization lock as a call would and returns what
// gives it back.
func HoldLock(p *Plugin) (unlock func()) {
	p.lock.LockPlain()
	return p.lock.Unlock
}

// Waiters is how many callers wait for p's lock.
func Waiters(p *Plugin) uint32 { return atomic.LoadUint32(&p.b.Cell().Waiters) }

// Shim reports whether p's calls are made whole in C.
func Shim(p *Plugin) bool { return p.shim }
