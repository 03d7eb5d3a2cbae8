package wasm

import (
	"context"
	"sync"

	"github.com/tetratelabs/wazero/experimental"
)

// A guest's linear memory is reserved once at its maximum (the cap, or
// less when the module declares less) and committed as it grows, so
// memory.grow never copies: wazero's own memory is a Go slice that grows
// by append, copying the whole memory at each grow. The reservation is
// address space only, outside the Go heap: an idle plugin costs the host
// what its guest uses, whatever its cap. Where the OS gives no
// reservation (memory_other.go, or a failed mmap) the memory is a Go
// slice as before.
//
// When a mapping may go is this file's business. wazero frees a memory
// (LinearMemory.Free) when its module closes, and a module may be closed
// from another goroutine (a plugin closing, or a load abandoned) while
// the guest may still be running; unmapping then would fault the host. So
// Free only marks, and the mapping is released where this package knows
// the guest has stopped: when an instance is discarded (after its call
// returned) and when the plugin closes (after every call returned).

// memories is one plugin's reservations.
type memories struct {
	mu   sync.Mutex
	live map[*reservation]struct{}
}

// allocator is the memory allocator of one instantiation; the returned
// context carries it to wazero. After the instantiation, taken() is the
// reservation it made (nil: none, or a Go slice).
func (ms *memories) allocator(ctx context.Context) (context.Context, *instanceAlloc) {
	a := &instanceAlloc{ms: ms}
	return experimental.WithMemoryAllocator(ctx, a), a
}

type instanceAlloc struct {
	ms  *memories
	res *reservation
}

// Allocate reserves max bytes (cap is wazero's suggested capacity, for
// the Go slice it would make).
func (a *instanceAlloc) Allocate(cap, max uint64) experimental.LinearMemory {
	if r := reserve(max); r != nil {
		a.ms.mu.Lock()
		if a.ms.live == nil {
			a.ms.live = map[*reservation]struct{}{}
		}
		a.ms.live[r] = struct{}{}
		a.ms.mu.Unlock()
		a.res = r
		return r
	}
	return &sliceMemory{buf: make([]byte, 0, cap)}
}

// release unmaps r (nil: nothing) once the guest that used it has
// stopped and nothing reads its memory any more.
func (ms *memories) release(r *reservation) {
	if r == nil {
		return
	}
	ms.mu.Lock()
	delete(ms.live, r)
	ms.mu.Unlock()
	r.unmap()
}

// releaseAll unmaps every reservation left: at Close, after the runtime
// closed every module.
func (ms *memories) releaseAll() {
	ms.mu.Lock()
	live := ms.live
	ms.live = nil
	ms.mu.Unlock()
	for r := range live {
		r.unmap()
	}
}

// committed is the bytes the plugin's reservations have committed (for
// the tests).
func (ms *memories) committed() (n uint64) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for r := range ms.live {
		n += uint64(r.committed)
	}
	return n
}

// sliceMemory is wazero's own way, for where nothing can be reserved: a
// Go slice grown by append (a copy at each grow past its capacity).
type sliceMemory struct{ buf []byte }

func (m *sliceMemory) Reallocate(size uint64) []byte {
	if n := uint64(len(m.buf)); size > n {
		m.buf = append(m.buf, make([]byte, size-n)...)
	}
	m.buf = m.buf[:size]
	return m.buf
}

func (m *sliceMemory) Free() {}
