package loader

import (
	"context"
	"runtime"
	"time"
	"unsafe"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/batch"
	"github.com/clawd-go/clawd/internal/clawctx"
	"github.com/clawd-go/clawd/internal/cmem"
	"github.com/clawd-go/clawd/internal/foreign"
	"github.com/clawd-go/clawd/internal/vtable"
)

// batching tells whether a batch can run calls (cgo builds): only then
// is the native runtime's batch registered with internal/batch, where the
// host finds it. Without cgo every call takes the ordinary path.
const batching = vtable.Batching

func init() {
	if batching {
		batch.Register(func(bounds batch.Bounds) (batch.Batch, error) {
			b, err := newNativeBatch(bounds)
			if err != nil {
				return nil, err // an untyped nil: never a nil *nativeBatch in the interface
			}
			return b, nil
		}, func(p clawd.Plugin) bool { _, ok := p.(*Plugin); return ok }, measured)
	}
}

var _ batch.Batch = (*nativeBatch)(nil)

// The cell counts in the buckets a batch is given bounds for.
var _ [batch.Buckets]uint64 = clawctx.Latency{}.Buckets

// measured reads what batches measured of p's calls from its cell.
func measured(pl clawd.Plugin) batch.Latency {
	p, ok := pl.(*Plugin)
	if !ok {
		return batch.Latency{}
	}
	l := p.b.Cell().SnapshotLatency()
	return batch.Latency{Total: time.Duration(l.Total), Max: time.Duration(l.Max), Buckets: l.Buckets}
}

// maxBatch is how many plugins one batch runs.
const maxBatch = batch.Max

// maxBatchArgs bounds the arguments a batch stages; larger calls take the
// ordinary path (they cost their copy, not the crossing).
const maxBatchArgs = 64 << 10

// nativeBatch (internal/batch's Batch) runs one call on several plugins of
// this process in one call into C: the host's dispatch of an event to many
// native plugins. The arguments are staged and checked for a NUL once;
// each plugin gets its own copy of them, its own context (live only during
// its callback) and its own serialization: the shim takes each plugin's
// lock in C, as a serial call does, and stops before a plugin whose lock
// is taken, that is closed, or whose ring needs a chunk made; the caller
// makes that call the ordinary way and runs on from the next, so that the
// order of calls stays the caller's. Admitted are only the plugins whose
// calls the shim makes whole (Plugin.shim: serialized, and no sink that
// could call back into a plugin this batch holds, on this very thread).
// ctx is checked at the first Admit of a batch (the one ctx of a
// dispatch), not before each callback.
//
// A nativeBatch is for one goroutine at a time; Reset empties it.
type nativeBatch struct {
	mem  *batchMem
	ents []vtable.BatchEntry // in C memory: the shim reads and writes them
	args int                 // the size of each argument area
	c    clawd.Call
	n    int
	ps   [maxBatch]*Plugin
	errs [maxBatch]error
	ns   [maxBatch]int64
	made [maxBatch]bool
}

// batchMem owns the batch's C memory: entries, the buckets' bounds, then
// the staged arguments, then their working copy. A cleanup frees it when
// the batch is collected.
type batchMem struct{ blk *cmem.Block }

const (
	entriesSize = maxBatch * int(unsafe.Sizeof(vtable.BatchEntry{}))
	boundsSize  = 8 * (batch.Buckets - 1)
	headSize    = entriesSize + boundsSize
)

// newNativeBatch returns an empty batch.
func newNativeBatch(bounds batch.Bounds) (*nativeBatch, error) {
	b := &nativeBatch{mem: &batchMem{}}
	if err := b.grow(4<<10, bounds); err != nil {
		return nil, err
	}
	runtime.AddCleanup(b, func(m *batchMem) { _ = m.blk.Free() }, b.mem)
	return b, nil
}

// grow makes each argument area at least n bytes. Only between runs.
func (b *nativeBatch) grow(n int, bounds batch.Bounds) error {
	blk, err := cmem.Alloc(headSize + 2*n)
	if err != nil {
		return err
	}
	if b.mem.blk != nil {
		_ = b.mem.blk.Free()
	}
	b.mem.blk, b.args = blk, n
	// The entries are Go values in C memory: uintptrs and integers only,
	// never a Go pointer, so the collector has nothing to see there.
	b.ents = unsafe.Slice((*vtable.BatchEntry)(foreign.Ptr(blk.Addr())), maxBatch)
	bs := unsafe.Slice((*int64)(foreign.Ptr(b.bounds())), batch.Buckets-1)
	for i, d := range bounds {
		bs[i] = int64(d)
	}
	return nil
}

func (b *nativeBatch) bounds() uintptr { return b.mem.blk.Addr() + uintptr(entriesSize) }
func (b *nativeBatch) base() uintptr   { return b.mem.blk.Addr() + uintptr(headSize) }
func (b *nativeBatch) work() uintptr   { return b.base() + uintptr(b.args) }

// Len is the number of plugins admitted since the last Reset.
func (b *nativeBatch) Len() int { return b.n }

// Admit takes p for call c if it is a plugin of this runtime whose calls
// the shim makes whole. admitted false with err nil: make the call the
// ordinary way (p.Call). A non-nil err is the call's outcome, refused
// before it began (closed, ctx done, arguments Validate refuses), as Call
// returns it. Every call admitted into one batch must be the same call.
func (b *nativeBatch) Admit(ctx context.Context, pl clawd.Plugin, c *clawd.Call) (admitted bool, err error) {
	p, ok := pl.(*Plugin)
	if !ok || !p.shim || b.n == maxBatch || c.Op >= clawd.NumOps {
		return false, nil
	}
	fn := p.fns[c.Op.Callback()]
	if fn == 0 {
		return false, nil
	}
	if p.closedFlag.Load() {
		return false, p.errs.Closed(c.Op.String())
	}
	if b.n == 0 {
		// The one check of the run's context and strings: a later call
		// joins only with the very same ones (sameCall).
		if err := ctx.Err(); err != nil {
			return false, p.errs.NotCalled(c.Op, err)
		}
		if err := p.errs.Validate(*c); err != nil {
			return false, err
		}
		if !b.stage(c) {
			return false, nil
		}
	} else if !sameCall(&b.c, c) {
		return false, nil
	}
	b.ents[b.n] = vtable.BatchEntry{Fn: fn, Cell: p.cell}
	b.ps[b.n] = p
	b.n++
	return true, nil
}

// Drop takes back the call admitted last, as if Admit had refused it.
func (b *nativeBatch) Drop() {
	if b.n == 0 {
		return
	}
	b.n--
	b.ps[b.n] = nil
	if b.n == 0 {
		b.Reset()
	}
}

// Reset empties the batch.
func (b *nativeBatch) Reset() {
	clear(b.ps[:b.n])
	b.n = 0
	b.c = clawd.Call{}
}

// sameCall reports whether a and b are the same call: the same op and
// the very same strings (pointer and length), as a dispatch passes them.
func sameCall(a, b *clawd.Call) bool {
	if a.Op != b.Op {
		return false
	}
	for i := range a.Args {
		if len(a.Args[i]) != len(b.Args[i]) || unsafe.StringData(a.Args[i]) != unsafe.StringData(b.Args[i]) {
			return false
		}
	}
	return true
}

// stage lays out c's arguments at base (each followed by a separator the
// shim turns into its terminator, as clawctx's Stage3), false when they are
// too large for a batch.
func (b *nativeBatch) stage(c *clawd.Call) bool {
	need := len(c.Args[0]) + 1
	if c.Op.Arity() == 3 {
		need = len(c.Args[0]) + len(c.Args[1]) + len(c.Args[2]) + 3
	}
	if need > maxBatchArgs {
		return false
	}
	// The shim copies in 32-byte blocks: room for the last one's overrun.
	if need+32 > b.args && b.grow(max(need+32, 2*b.args), b.boundsNow()) != nil {
		return false
	}
	buf := foreign.Bytes(b.base(), need)
	k := 0
	for i := 0; i < c.Op.Arity(); i++ {
		k += copy(buf[k:], c.Args[i])
		buf[k] = 0xFF
		k++
	}
	b.c = *c
	return true
}

// boundsNow reads back the bounds the batch was made with.
func (b *nativeBatch) boundsNow() (bs batch.Bounds) {
	src := unsafe.Slice((*int64)(foreign.Ptr(b.bounds())), batch.Buckets-1)
	for i := range bs {
		bs[i] = time.Duration(src[i])
	}
	return bs
}

// Run makes the admitted calls from index from on, in order, and returns
// where it stopped: Len(), or the index of a call it did not make (its
// plugin busy, closed, or its ring at a chunk to make), which the caller
// makes the ordinary way before it runs on from the next. Result(i) is
// then the outcome of each call it made.
func (b *nativeBatch) Run(from int) (stop int) {
	c := b.c
	three := c.Op.Arity() == 3
	for from < b.n {
		stop, held, bad := vtable.Batch(b.mem.blk.Addr(), from, b.n, b.base(), b.work(), three,
			len(c.Args[0]), len(c.Args[1]), len(c.Args[2]), b.bounds())
		if bad >= 0 {
			// Validate refused a NUL in a text already; the others are
			// refused here, for every call alike, and none was made.
			for k := from; k < b.n; k++ {
				b.errs[k], b.ns[k], b.made[k] = b.ps[k].errs.NUL(c.Op, bad), 0, false
			}
			return b.n
		}
		for k := from; k < stop; k++ {
			p := b.ps[k]
			rc, wake := vtable.EntryResult(b.ents[k].Code)
			if wake {
				p.b.SerialLock().Wake()
			}
			b.errs[k], b.ns[k], b.made[k] = p.errs.Result(c.Op, rc), b.ents[k].NS, true
		}
		if !held {
			return stop
		}
		// The shim holds the plugin it stopped at: closed, or its ring
		// at a chunk to make, which this side makes before the run goes
		// on from that plugin.
		p := b.ps[stop]
		grown := !p.closed && p.b.ReserveSerial() == nil
		p.lock.Unlock()
		if !grown {
			return stop
		}
		from = stop
	}
	return b.n
}

// Result is how long the i-th call of the last Run took in its callback,
// and its outcome; measured tells that the call was made and counted in
// its plugin's cell (a NUL refused is not).
func (b *nativeBatch) Result(i int) (d time.Duration, err error, measured bool) {
	return time.Duration(b.ns[i]), b.errs[i], b.made[i]
}
