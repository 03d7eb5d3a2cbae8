package vtable

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/cmem"
)

// table builds a ClawaPlugin in C memory, as a plugin would.
func table(t *testing.T, fill func(p *cabi.Plugin, str func(string) uintptr)) uintptr {
	blk, err := cmem.Alloc(4096)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = blk.Free() })
	mem := blk.Bytes()
	off := cabi.SizeofPlugin
	str := func(s string) uintptr {
		a := blk.Addr() + uintptr(off)
		off += copy(mem[off:], s) + 1
		return a
	}
	fill((*cabi.Plugin)(unsafe.Pointer(unsafe.SliceData(mem))), str)
	return blk.Addr()
}

func TestRead(t *testing.T) {
	addr := table(t, func(p *cabi.Plugin, str func(string) uintptr) {
		p.ABIVersion = 1
		p.Name, p.Version = str("ok"), str("1.0.0")
		p.OnToolCall = 0x1234
	})
	tb, err := Read(addr, "lib")
	assert.NoError(t, err)
	assert.Equal(t, "ok", tb.Name)
	assert.True(t, tb.Has(abi.OnToolCall))
	assert.False(t, tb.Has(abi.OnLoad))
	assert.Empty(t, tb.Warnings)

	for i := 0; i < cabi.Reserved; i++ {
		addr = table(t, func(p *cabi.Plugin, str func(string) uintptr) {
			p.ABIVersion = 1
			p.Reserved[i] = 8
		})
		_, err = Read(addr, "lib")
		assert.Equal(t, clawerr.ReservedSlotSet, clawerr.CodeOf(err), "slot %d", i)
	}
	for _, v := range []uint32{0, 2, 0xffffffff} {
		addr = table(t, func(p *cabi.Plugin, str func(string) uintptr) { p.ABIVersion = v })
		_, err = Read(addr, "lib")
		assert.Equal(t, clawerr.ABIMismatch, clawerr.CodeOf(err), "abi %d", v)
	}
	addr = table(t, func(p *cabi.Plugin, str func(string) uintptr) {
		p.ABIVersion = 1
		p.Name, p.Version = str("n"), str("1.0.\xff")
	})
	_, err = Read(addr, "lib")
	assert.Equal(t, clawerr.BadVersion, clawerr.CodeOf(err))
	// The table itself unreadable: an error, not a crash.
	blk, _ := cmem.Alloc(1)
	gone := blk.Addr()
	_ = blk.Free()
	_, err = Read(gone, "lib")
	assert.Equal(t, clawerr.ABIMismatch, clawerr.CodeOf(err))
}
