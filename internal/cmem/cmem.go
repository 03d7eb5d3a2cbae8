// Package cmem hands out memory outside the Go heap: memory the garbage
// collector never moves or frees, so its address can be given to C and
// kept there. It is used for contexts and argument buffers.
//
// Blocks come straight from the OS (mmap, VirtualAlloc) and are rounded up
// to whole pages; callers carve small objects out of one block.
package cmem

import (
	"os"
	"unsafe"
)

// Block is memory from the OS. Its address is stable until Free.
type Block struct {
	b []byte // a view of foreign memory, not a Go allocation
}

var pageSize = os.Getpagesize()

// RoundUp rounds n up to a whole number of pages.
func RoundUp(n int) int {
	if n <= 0 {
		return pageSize
	}
	return (n + pageSize - 1) &^ (pageSize - 1)
}

// Alloc returns a zeroed block of at least n bytes.
func Alloc(n int) (*Block, error) {
	b, err := osAlloc(RoundUp(n))
	if err != nil {
		return nil, err
	}
	return &Block{b: b}, nil
}

// Bytes returns the block as a slice; valid until Free.
func (m *Block) Bytes() []byte { return m.b }

// Len is the block's size in bytes.
func (m *Block) Len() int { return len(m.b) }

// Addr is the block's address, for C.
func (m *Block) Addr() uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(m.b))) }

// Free returns the block to the OS. Nothing may use it afterwards.
func (m *Block) Free() error {
	if m.b == nil {
		return nil
	}
	err := osFree(m.b)
	m.b = nil
	return err
}
