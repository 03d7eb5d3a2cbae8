package loader

import (
	"context"
	"runtime"
	"strings"
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
		}, ticketOf, measured)
	}
}

var _ batch.Batch = (*nativeBatch)(nil)

// The cell counts in the buckets a batch is given bounds for.
var _ [batch.Buckets]uint64 = clawctx.Latency{}.Buckets

// ticketOf is p's batch ticket: a plugin of this runtime whose calls the
// shim makes whole (Plugin.shim: serialized, and no sink that could call
// back into a plugin a batch holds, on this very thread), nil otherwise.
func ticketOf(pl clawd.Plugin) *batch.Ticket {
	p, ok := pl.(*plugin)
	if !ok || !p.shim {
		return nil
	}
	t := &batch.Ticket{Cell: p.cell, Errs: p.errs, Wake: p.b.SerialLock().Wake, GoOn: p.goOn}
	for o := clawd.Op(0); o < clawd.NumOps; o++ {
		t.Fns[o] = p.fns[o.Callback()]
	}
	return t
}

// goOn is Ticket.GoOn: a run stopped on p holding its lock, closed or at
// a chunk of its ring to make, which is made here.
func (p *plugin) goOn() bool {
	p.b.SerialLock().Acquired()
	grown := !p.closed && p.b.ReserveSerial() == nil
	p.lock.Unlock()
	return grown
}

// measured reads what batches measured of p's calls from its cell.
func measured(pl clawd.Plugin) batch.Latency {
	p, ok := pl.(*plugin)
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
// native plugins. The arguments are checked and staged once; each plugin
// gets its own copy of them, its own context (live only during its
// callback) and its own serialization: the shim takes each plugin's lock
// in C, as a serial call does, and stops before a plugin whose lock is
// taken, that is closed, or whose ring needs a chunk made; the caller
// makes that call the ordinary way (or has the chunk made, Ticket.GoOn)
// and runs on from there, so that the order of calls stays the caller's.
//
// A nativeBatch is for one goroutine at a time; Reset empties it.
type nativeBatch struct {
	mem  *batchMem
	ents []batch.Entry // in C memory: the shim reads and writes them
	args int           // the size of each argument area
	c    *clawd.Call   // the call staged; nil before Begin
}

// batchMem owns the batch's C memory: entries, the buckets' bounds, then
// the staged arguments, then their working copy. A cleanup frees it when
// the batch is collected.
type batchMem struct{ blk *cmem.Block }

const (
	entriesSize = maxBatch * int(unsafe.Sizeof(batch.Entry{}))
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
	b.ents = unsafe.Slice((*batch.Entry)(foreign.Ptr(blk.Addr())), maxBatch)
	bs := unsafe.Slice((*int64)(foreign.Ptr(b.bounds())), batch.Buckets-1)
	for i, d := range bounds {
		bs[i] = int64(d)
	}
	return nil
}

func (b *nativeBatch) bounds() uintptr { return b.mem.blk.Addr() + uintptr(entriesSize) }
func (b *nativeBatch) base() uintptr   { return b.mem.blk.Addr() + uintptr(headSize) }
func (b *nativeBatch) work() uintptr   { return b.base() + uintptr(b.args) }

// boundsNow reads back the bounds the batch was made with.
func (b *nativeBatch) boundsNow() (bs batch.Bounds) {
	src := unsafe.Slice((*int64)(foreign.Ptr(b.bounds())), batch.Buckets-1)
	for i := range bs {
		bs[i] = time.Duration(src[i])
	}
	return bs
}

// Entries are the batch's entries, in C memory.
func (b *nativeBatch) Entries() []batch.Entry { return b.ents }

// Begin checks and stages call c for the batch: false, with nothing
// staged, when a call would be refused before it began (ctx done, c not
// valid, a NUL in its strings) or is too large for a batch: the caller
// makes every call the ordinary way, which refuses each with its
// plugin's name. c is read in place until Reset.
func (b *nativeBatch) Begin(ctx context.Context, c *clawd.Call) bool {
	if !batching || c.Op >= clawd.NumOps || ctx.Err() != nil || c.Validate() != nil {
		return false
	}
	// Validate leaves no NUL in a JSON text; the others are checked here.
	for i := 0; i < c.Op.Arity() && i < 2; i++ {
		if strings.IndexByte(c.Args[i], 0) >= 0 {
			return false
		}
	}
	return b.stage(c)
}

// Reset empties the batch.
func (b *nativeBatch) Reset() { b.c = nil }

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
	b.c = c
	return true
}

// Run makes the calls of entries from to n-1, in order, and returns where
// it stopped (see batch.Batch).
func (b *nativeBatch) Run(from, n int) (stop int, held bool) {
	if b.c == nil || from >= n {
		return n, false
	}
	c := b.c
	stop, held, bad := vtable.Batch(b.mem.blk.Addr(), from, n, b.base(), b.work(), c.Op.Arity() == 3,
		len(c.Args[0]), len(c.Args[1]), len(c.Args[2]), b.bounds())
	if bad >= 0 {
		// Begin let no NUL through, so the staged strings changed under
		// the batch: it makes no call, and the caller makes each the
		// ordinary way, which checks them again.
		return from, false
	}
	return stop, held
}
