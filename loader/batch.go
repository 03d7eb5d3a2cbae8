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
		batch.Register(func() (batch.Batch, error) {
			b, err := newNativeBatch()
			if err != nil {
				return nil, err // an untyped nil: never a nil *nativeBatch in the interface
			}
			return b, nil
		}, func(p clawd.Plugin) bool { _, ok := p.(*plugin); return ok })
	}
}

var _ batch.Batch = (*nativeBatch)(nil)

// maxBatch is how many plugins one batch runs.
const maxBatch = batch.Max

// maxBatchArgs bounds the arguments a batch stages; larger calls take the
// ordinary path (they cost their copy, not the crossing).
const maxBatchArgs = 64 << 10

// nativeBatch (internal/batch's Batch) runs one call on several plugins of
// this process in one call into
// C: the host's dispatch of an event to many native plugins. The
// arguments are staged and checked for a NUL once; each plugin gets its
// own copy of them, its own context (live only during its callback) and
// its own serialization: Admit takes the plugin's lock, which Run gives
// back. A plugin whose lock is taken (busy), that is concurrent, or that
// may send events (network.relay: its sink could call back into a plugin
// this batch holds, on this very thread) is not admitted: the caller makes
// that call the ordinary way, after running what it admitted so far, so
// that the order of calls stays the caller's. ctx is checked at Admit,
// not again before each callback.
//
// A nativeBatch is for one goroutine at a time; Run ends it and it can be used
// again.
type nativeBatch struct {
	mem   *batchMem
	ents  []vtable.BatchEntry // in C memory: the shim reads and writes them
	args  int                 // the size of each argument area
	c     clawd.Call
	n     int
	ps    [maxBatch]*plugin
	slots [maxBatch]*clawctx.Slot
	errs  [maxBatch]error
	ns    [maxBatch]int64
}

// batchMem owns the batch's C memory: entries, then the staged arguments,
// then their working copy. A cleanup frees it when the batch is collected.
type batchMem struct{ blk *cmem.Block }

const entriesSize = maxBatch * int(unsafe.Sizeof(vtable.BatchEntry{}))

// newNativeBatch returns an empty batch.
func newNativeBatch() (*nativeBatch, error) {
	b := &nativeBatch{mem: &batchMem{}}
	if err := b.grow(4 << 10); err != nil {
		return nil, err
	}
	runtime.AddCleanup(b, func(m *batchMem) { _ = m.blk.Free() }, b.mem)
	return b, nil
}

// grow makes each argument area at least n bytes. Only between runs.
func (b *nativeBatch) grow(n int) error {
	blk, err := cmem.Alloc(entriesSize + 2*n)
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
	return nil
}

func (b *nativeBatch) base() uintptr { return b.mem.blk.Addr() + uintptr(entriesSize) }
func (b *nativeBatch) work() uintptr { return b.base() + uintptr(b.args) }

// Len is the number of plugins admitted since the last Run.
func (b *nativeBatch) Len() int { return b.n }

// Admit takes p for call c at the next Run if it is a plugin of this
// runtime. admitted false with err nil: make the call the ordinary way
// (p.Call). A non-nil err is the call's outcome, refused before it began
// (closed, ctx done), as Call returns it. Every call admitted into one run
// must be the same call.
func (b *nativeBatch) Admit(ctx context.Context, pl clawd.Plugin, c clawd.Call) (admitted bool, err error) {
	p, ok := pl.(*plugin)
	if !ok || !batching || p.concurrent || p.relay || b.n == maxBatch || c.Op >= clawd.NumOps {
		return false, nil
	}
	fn := p.fns[c.Op.Callback()]
	if fn == 0 || (b.n > 0 && !sameCall(b.c, c)) {
		return false, nil
	}
	if err := p.precheck(ctx, c.Op); err != nil {
		return false, err
	}
	if b.n == 0 {
		// The one check of the run's strings: a later call joins only
		// with the very same ones (sameCall).
		if err := p.errs.Validate(c); err != nil {
			return false, err
		}
		if !b.stage(c) {
			return false, nil
		}
	}
	if !p.lock.TryLock() {
		return false, nil // busy: the ordinary path waits for it
	}
	if p.closed {
		p.lock.Unlock()
		return false, p.errs.Closed(c.Op.String())
	}
	s, err := p.b.AcquireSerial() // under the lock, as the ring needs
	if err != nil {
		p.lock.Unlock()
		return false, p.memError(c.Op, err)
	}
	s.Prepare(ctx)
	live, stale := s.Handles()
	b.ents[b.n] = vtable.BatchEntry{Fn: fn, Ctx: s.Addr(), Live: live, Stale: stale}
	b.ps[b.n], b.slots[b.n] = p, s
	b.n++
	return true, nil
}

// Drop takes back the call admitted last, as if Admit had refused it: its
// plugin's lock is given back and nothing is called.
func (b *nativeBatch) Drop() {
	if b.n == 0 {
		return
	}
	b.n--
	k := b.n
	b.slots[k].Release()
	b.ps[k].lock.Unlock()
	b.ps[k], b.slots[k] = nil, nil
	if b.n == 0 {
		b.c = clawd.Call{}
	}
}

// sameCall reports whether a and b are the same call: the same op and
// the very same strings (pointer and length), as a dispatch passes them.
func sameCall(a, b clawd.Call) bool {
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
func (b *nativeBatch) stage(c clawd.Call) bool {
	need := len(c.Args[0]) + 1
	if c.Op.Arity() == 3 {
		need = len(c.Args[0]) + len(c.Args[1]) + len(c.Args[2]) + 3
	}
	if need > maxBatchArgs {
		return false
	}
	if need > b.args && b.grow(max(need, 2*b.args)) != nil {
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

// Run makes the admitted calls, in the order they were admitted, gives
// every plugin back and makes the batch empty. Result(i) is then the
// outcome of the i-th admitted call.
func (b *nativeBatch) Run() {
	if b.n == 0 {
		return
	}
	c := b.c
	three := c.Op.Arity() == 3
	bad := vtable.Batch(b.mem.blk.Addr(), b.n, b.base(), b.work(), three, len(c.Args[0]), len(c.Args[1]), len(c.Args[2]))
	for k := 0; k < b.n; k++ {
		p := b.ps[k]
		b.slots[k].Release()
		p.lock.Unlock()
		if bad >= 0 {
			b.errs[k], b.ns[k] = p.errs.NUL(c.Op, bad), 0
		} else {
			e := &b.ents[k]
			b.errs[k], b.ns[k] = p.errs.Result(c.Op, int32(uint32(e.Code))), e.NS
		}
		b.ps[k], b.slots[k] = nil, nil
	}
	b.n = 0
	b.c = clawd.Call{}
}

// Result is how long the i-th call of the last Run took in its callback,
// and its outcome.
func (b *nativeBatch) Result(i int) (time.Duration, error) { return time.Duration(b.ns[i]), b.errs[i] }
