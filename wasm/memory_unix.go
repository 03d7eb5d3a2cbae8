//go:build unix

package wasm

import (
	"math"

	"golang.org/x/sys/unix"
)

// reservation is a guest's linear memory: max bytes of address space
// mapped PROT_NONE (no memory behind it, no commit charge), of which the
// first committed bytes are readable and writable. Growing changes the
// protection of the pages added; the kernel gives them zeroed on first
// touch, as the wasm spec wants.
type reservation struct {
	all       []byte // the whole mapping, as unix.Mmap returned it (Munmap needs it)
	committed int
}

// reserve maps max bytes of address space, or returns nil (nothing to
// reserve, or the OS refused: the caller falls back to a Go slice).
func reserve(max uint64) *reservation {
	if max == 0 || max > math.MaxInt {
		return nil
	}
	b, err := unix.Mmap(-1, 0, int(max), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil
	}
	return &reservation{all: b}
}

// Reallocate commits the memory up to size bytes and returns it, at the
// same address as before. nil (memory.grow returns -1 to the guest) past
// the reservation or when the OS refuses the pages. size is a multiple
// of the wasm page (64 KiB), so every protection change is page-aligned.
// The returned slice's capacity is its length: nothing may append into
// the pages not committed.
func (r *reservation) Reallocate(size uint64) []byte {
	if r.all == nil || size > uint64(len(r.all)) {
		return nil
	}
	if n := int(size); n > r.committed {
		if err := unix.Mprotect(r.all[r.committed:n], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return nil
		}
		r.committed = n
	}
	return r.all[:size:size]
}

// Free is wazero's, when the module closes, possibly while the guest
// still runs: it leaves the mapping (see memories.release).
func (r *reservation) Free() {}

// unmap gives the address space back. Called once the guest has stopped.
func (r *reservation) unmap() {
	if r.all != nil {
		_ = unix.Munmap(r.all)
		r.all, r.committed = nil, 0
	}
}
