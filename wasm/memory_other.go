//go:build !unix

package wasm

// Outside Unix nothing is reserved: a guest's memory is a Go slice that
// grows by copying (memory.go's sliceMemory).
type reservation struct{ committed int }

func reserve(uint64) *reservation { return nil }

func (r *reservation) Reallocate(uint64) []byte { return nil }
func (r *reservation) Free()                    {}
func (r *reservation) unmap()                   {}
