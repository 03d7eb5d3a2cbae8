package clawctx

import (
	"errors"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/foreign"
)

// RingChunks is how many chunks the serial ring holds: quarantine contexts.
const RingChunks = quarantine / chunkLen

// ChunkLen is how many contexts one chunk holds.
const ChunkLen = chunkLen

// LatencyBuckets is how many buckets Cell.Latency counts calls in.
const LatencyBuckets = 8

// Cell is the state of one serialized plugin that the call shims of
// package vtable read and write in C (their clawd_cell mirrors it field by
// field): the plugin's lock, its closed flag, the cursor of its serial
// ring, the argument buffer of its serial calls and what batches measured.
// It lives in C memory that is never freed, so that a shim never meets
// memory the Go side gave back. Every field but Lock and Waiters is owned
// by whoever holds Lock: the shims and Go alike read and write them plainly
// under it. The Go side reads Latency without the lock, with atomic loads
// (the shims store each word whole).
type Cell struct {
	Lock    uint32 // 0 free, 1 held: taken by an exchange, given back by a store
	Waiters uint32 // Go callers waiting for Lock (SerialLock.Lock): a release that sees them wakes one
	Closed  uint32 // 1 once the plugin is closed (set under Lock)
	I       uint32 // the current context's index in its chunk
	Ctx     uintptr
	Idx     uint32 // the current context's table index
	Chunk   uint32 // the ring's chunk in use; noChunk before the first call
	N       uint32 // chunks the ring has made so far
	_       uint32
	Step    uintptr // cabi.SizeofContext
	Buf     uintptr // the serial calls' argument buffer (0: none yet, or the Go side must run)
	BufLen  uintptr
	Bases   [RingChunks]uintptr // chunk k's first context
	Firsts  [RingChunks]uint32  // chunk k's first table index
	Latency Latency             // the calls made in batches
}

// Latency is what batches measured of a plugin's calls, in nanoseconds:
// the sum, the longest, and the count by bucket (bounds given to the
// batch). Calls is the sum of the buckets.
type Latency struct {
	Total   int64
	Max     int64
	Buckets [LatencyBuckets]uint64
}

const noChunk = ^uint32(0)

var errNoCell = errors.New("no context memory for the plugin's cell")

// newCell makes a cell in context memory (zeroed: cmem's pages are).
func newCell() (*Cell, error) {
	table.mu.Lock()
	mem, err := arena(int(unsafe.Sizeof(Cell{})))
	table.mu.Unlock()
	if err != nil {
		return nil, err
	}
	c := (*Cell)(foreign.Ptr(cmemAddr(mem)))
	c.Chunk, c.I, c.Step = noChunk, chunkLen-1, cabi.SizeofContext
	return c, nil
}

// Cell is the binding's cell: its address goes to the call shims.
func (b *Binding) Cell() *Cell { return b.serial.cell }

// CellAddr is the cell's address, for the shims; 0 if it could not be
// made. The cell is C memory: its address is a plain integer.
func (b *Binding) CellAddr() uintptr { return uintptr(unsafe.Pointer(b.serial.cell)) }

// SnapshotLatency reads what batches measured, word by word: concurrent
// batches may add to it meanwhile.
func (c *Cell) SnapshotLatency() Latency {
	var l Latency
	l.Total = atomic.LoadInt64(&c.Latency.Total)
	l.Max = atomic.LoadInt64(&c.Latency.Max)
	for i := range l.Buckets {
		l.Buckets[i] = atomic.LoadUint64(&c.Latency.Buckets[i])
	}
	return l
}

// SerialLock is a plugin's serialization lock, kept in its cell so that
// the call shims take it in C: one exchange to take it, one store to give
// it back. A Go caller that finds it taken registers in Waiters and sleeps
// until a release wakes it. The shims' release (a plain store, then a load
// of Waiters) can miss a waiter that registered in the same instant; such
// a waiter looks again after waitPoll, so it is late, never stuck.
type SerialLock struct {
	c    *Cell
	wake chan struct{}
	// seen carries the hand-over of the lock for the race detector
	// (raceEnabled only): it does not see atomics on C memory.
	seen atomic.Uint32
}

// waitPoll bounds how long a waiter sleeps without a wake-up.
const waitPoll = 200 * time.Microsecond

// SerialLock is the lock in b's cell.
func (b *Binding) SerialLock() *SerialLock { return &b.serial.lock }

// TryLock takes the lock if it is free.
func (l *SerialLock) TryLock() bool {
	if atomic.SwapUint32(&l.c.Lock, 1) != 0 {
		return false
	}
	l.Acquired()
	return true
}

// Lock waits for the lock.
func (l *SerialLock) Lock() {
	if l.TryLock() {
		return
	}
	atomic.AddUint32(&l.c.Waiters, 1)
	t := time.NewTimer(waitPoll)
	for !l.TryLock() {
		select {
		case <-l.wake:
		case <-t.C:
		}
		t.Reset(waitPoll)
	}
	t.Stop()
	atomic.AddUint32(&l.c.Waiters, ^uint32(0))
}

// Unlock gives the lock back and wakes a waiter, if any.
func (l *SerialLock) Unlock() {
	if raceEnabled {
		l.seen.Add(1)
	}
	atomic.StoreUint32(&l.c.Lock, 0) // a full barrier in Go: Waiters is read after it
	if atomic.LoadUint32(&l.c.Waiters) != 0 {
		l.Wake()
	}
}

// Acquired is called by a Go caller that holds the lock (a shim took it
// for it, or TryLock did) before it touches what the lock guards: for the
// race detector, it orders the caller after the last Go Unlock. What a
// shim writes under the lock is C memory, which the detector does not
// track; what Go writes under it is released by a Go Unlock.
func (l *SerialLock) Acquired() {
	if raceEnabled {
		l.seen.Load()
	}
}

// Wake wakes a waiter: for a shim that released the lock and saw one.
func (l *SerialLock) Wake() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// ReserveSerial makes the serial ring's next chunk if the next call needs
// it, without moving the ring: the shims move on to a chunk that exists,
// and only this side makes one. Under the lock, as AcquireSerial.
func (b *Binding) ReserveSerial() error {
	s := &b.serial
	c := s.cell
	if c == nil {
		return errNoCell
	}
	if c.I != chunkLen-1 || c.Chunk+1 != c.N || c.N == RingChunks {
		return nil
	}
	ch, err := newChunk(b)
	if err != nil {
		return err
	}
	s.ring = append(s.ring, ch)
	c.Bases[c.N], c.Firsts[c.N] = ch.base, ch.first
	c.N++
	return nil
}
