package wasm

// MemoryCommitted is the bytes p's guests have committed of their
// reservations (0 where a memory is a Go slice).
func MemoryCommitted(p *Plugin) uint64 { return p.mems.committed() }

// MemoryBase is the address of the first byte of the linear memory of
// p's first instance, for telling whether a grow moved it. Call it with
// no call in flight.
func MemoryBase(p *Plugin) *byte {
	in := p.slots[0].inst
	if in == nil {
		return nil
	}
	b, ok := in.mem.Read(0, 1)
	if !ok {
		return nil
	}
	return &b[0]
}

// Reserves reports whether this OS gives linear memories a reservation.
func Reserves() bool {
	r := reserve(1 << 16)
	if r == nil {
		return false
	}
	r.unmap()
	return true
}

// The three ways to grow max bytes of memory in steps of step, for the
// benchmarks: a reservation committed step by step, wazero's Go slice
// grown by append, and (for scale) clearing a Go slice of max bytes.
func GrowReserved(max, step uint64) {
	r := reserve(max)
	for n := step; n <= max; n += step {
		if r.Reallocate(n) == nil {
			panic("reservation refused a grow")
		}
	}
	r.unmap()
}

func GrowSlice(max, step uint64) {
	m := &sliceMemory{}
	for n := step; n <= max; n += step {
		m.Reallocate(n)
	}
}

// MemorySize is the size of the linear memory of p's first instance.
func MemorySize(p *Plugin) uint64 {
	if in := p.slots[0].inst; in != nil {
		return uint64(in.mem.Size())
	}
	return 0
}
