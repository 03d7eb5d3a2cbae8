package clawctx

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cmem"
	"github.com/clawd-go/clawd/internal/foreign"
)

// entry is the process-wide record of one context. It is created once and
// never removed: its memory may still be in a plugin's hands.
// Its fields are atomic because trampolines on plugin threads read them
// with no Go synchronization in between.
type entry struct {
	addr atomic.Uintptr // the ClawaContext in C memory
	slot atomic.Pointer[Slot]
}

const chunkSize = 256

// table maps a context's index to its entry. Lookups are lock-free: the
// chunk list is replaced whole when it grows, and chunks never move.
var table struct {
	mu     sync.Mutex // serializes growth
	n      int
	chunks atomic.Pointer[[]*[chunkSize]entry]
	arena  []byte // the rest of the current block of context memory
}

// newSlot allocates one ClawaContext for b in C memory and registers it.
func newSlot(b *Binding, serial bool) (*Slot, error) {
	table.mu.Lock()
	defer table.mu.Unlock()
	if len(table.arena) < abi.SizeofContext {
		blk, err := cmem.Alloc(64 << 10)
		if err != nil {
			return nil, fmt.Errorf("allocating context memory: %w", err)
		}
		table.arena = blk.Bytes() // never freed: contexts outlive their plugin
	}
	mem := table.arena[:abi.SizeofContext:abi.SizeofContext]
	table.arena = table.arena[abi.SizeofContext:]
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))

	idx := table.n
	var chunks []*[chunkSize]entry
	if p := table.chunks.Load(); p != nil {
		chunks = *p
	}
	if idx/chunkSize >= len(chunks) {
		grown := make([]*[chunkSize]entry, len(chunks)+1)
		copy(grown, chunks)
		grown[len(chunks)] = new([chunkSize]entry)
		chunks = grown
		table.chunks.Store(&grown)
	}
	e := &chunks[idx/chunkSize][idx%chunkSize]
	e.addr.Store(addr)
	s := &Slot{b: b, serial: serial, idx: uint32(idx), addr: addr, ctx: (*abi.Context)(foreign.Ptr(addr))}
	e.slot.Store(s)
	table.n++

	s.ctx.Inner = staleHandle(uint32(idx))
	s.ctx.SendEvent = sendEventFn
	s.ctx.Log = logFn
	return s, nil
}

func liveHandle(idx uint32) uintptr  { return uintptr(idx+1)<<1 | 1 }
func staleHandle(idx uint32) uintptr { return uintptr(idx+1) << 1 }

// resolve finds the slot of the context at addr and whether the call it
// was made for is still running. ok is false for a NULL or forged context.
func resolve(addr uintptr) (s *Slot, live, ok bool) {
	if addr == 0 {
		return nil, false, false
	}
	// The plugin reads and we write _inner from different threads; an
	// aligned word load is atomic on every supported target.
	h := atomic.LoadUintptr((*uintptr)(foreign.Ptr(addr)))
	if h < 2 {
		return nil, false, false
	}
	idx := h>>1 - 1
	p := table.chunks.Load()
	if p == nil || idx/chunkSize >= uintptr(len(*p)) {
		return nil, false, false
	}
	e := &(*p)[idx/chunkSize][idx%chunkSize]
	if e.addr.Load() != addr { // a context copied elsewhere, or garbage
		return nil, false, false
	}
	return e.slot.Load(), h&1 == 1, true
}
