package loader

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/batch"
)

// SetUnmapAlways makes Close unmap the library whatever the thread census
// says: the behaviour without the census, for the test that shows what it
// prevents.
func SetUnmapAlways(v bool) { unmapAlways = v }

// Batch drives the native runtime's batch as the host does (internal/batch),
// for its tests: Admit takes a plugin by its ticket, Run goes past the
// chunks a ring needs (Ticket.GoOn) and stops where the host would make a
// call the ordinary way.
type Batch struct {
	nb   *nativeBatch
	c    *clawd.Call
	tks  []*batch.Ticket
	errs []error
	ns   []time.Duration
}

func NewBatch() (*Batch, error) {
	nb, err := newNativeBatch(TestBounds)
	if err != nil {
		return nil, err
	}
	return &Batch{nb: nb}, nil
}

// Admit takes p for call c (read in place): false when no batch takes p
// (no ticket, no such callback), the batch holds another call, or c
// cannot be made in a batch (Begin): the ordinary path then makes or
// refuses it.
func (b *Batch) Admit(ctx context.Context, p clawd.Plugin, c *clawd.Call) bool {
	tk := ticketOf(p)
	if tk == nil || tk.Fns[c.Op] == 0 || len(b.tks) == MaxBatch {
		return false
	}
	if b.c == nil {
		if !b.nb.Begin(ctx, c) {
			return false
		}
		b.c = c
	} else if b.c != c {
		return false
	}
	e := &b.nb.Entries()[len(b.tks)]
	e.Fn, e.Cell = tk.Fns[c.Op], tk.Cell
	b.tks = append(b.tks, tk)
	b.errs, b.ns = append(b.errs, nil), append(b.ns, 0)
	return true
}

// Len is how many calls the batch holds.
func (b *Batch) Len() int { return len(b.tks) }

// Drop takes back the call admitted last.
func (b *Batch) Drop() {
	if n := len(b.tks); n > 0 {
		b.tks, b.errs, b.ns = b.tks[:n-1], b.errs[:n-1], b.ns[:n-1]
	}
}

// Run makes the calls from index from on and returns where it stopped:
// Len(), or a call the caller makes the ordinary way.
func (b *Batch) Run(from int) int {
	n := len(b.tks)
	for from < n {
		stop, held := b.nb.Run(from, n)
		for k := from; k < stop; k++ {
			e := b.nb.Entries()[k]
			if e.Code&batch.WakeBit != 0 {
				b.tks[k].Wake()
			}
			b.errs[k], b.ns[k] = b.tks[k].Errs.Result(b.c.Op, int32(uint32(e.Code))), time.Duration(e.NS)
		}
		if stop == n || !held || !b.tks[stop].GoOn() {
			return stop
		}
		from = stop
	}
	return n
}

// Result is the i-th call's time and outcome.
func (b *Batch) Result(i int) (time.Duration, error) { return b.ns[i], b.errs[i] }

// Reset empties the batch.
func (b *Batch) Reset() {
	b.nb.Reset()
	b.c, b.tks, b.errs, b.ns = nil, b.tks[:0], b.errs[:0], b.ns[:0]
}

const (
	Batching = batching
	MaxBatch = maxBatch
)

// HoldLock takes p's serialization lock as a call would and returns what
// gives it back.
func HoldLock(pl clawd.Plugin) (unlock func()) {
	p := pl.(*plugin)
	p.lock.LockPlain()
	return p.lock.Unlock
}

// Waiters is how many callers wait for p's lock.
func Waiters(p clawd.Plugin) uint32 { return atomic.LoadUint32(&p.(*plugin).b.Cell().Waiters) }

// Shim reports whether p's calls are made whole in C.
func Shim(p clawd.Plugin) bool { return p.(*plugin).shim }

// TestBounds are the latency buckets' bounds of the tests' batches: 1us to 1s.
var TestBounds = batch.Bounds{time.Microsecond, 10 * time.Microsecond, 100 * time.Microsecond,
	time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, time.Second}

// Measured is what batches measured of p.
func Measured(p clawd.Plugin) batch.Latency { return measured(p) }

// What the tests read of the plugin Open returns, which is unexported.
type UnloadState = unloadState

const (
	NotClosed   = notClosed
	Unmapped    = unmapped
	StillMapped = stillMapped
	KeptMapped  = keptMapped
)

func UnloadStateOf(p clawd.Plugin) UnloadState { return p.(*plugin).UnloadState() }
func PathOf(p clawd.Plugin) string             { return p.(*plugin).Path() }
