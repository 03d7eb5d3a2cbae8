//go:build linux || freebsd

package libfile_test

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/libfile"
	"github.com/clawd-go/clawd/internal/libfile/libfiletest"
)

// patched writes a copy of the library so with f applied to its bytes and
// its byte order.
func patched(t *testing.T, so, name string, f func(b []byte, order binary.ByteOrder)) string {
	t.Helper()
	b, err := os.ReadFile(so)
	require.NoError(t, err)
	var order binary.ByteOrder = binary.LittleEndian
	if elf.Data(b[elf.EI_DATA]) == elf.ELFDATA2MSB {
		order = binary.BigEndian
	}
	f(b, order)
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, b, 0o755))
	return p
}

// A real library without section headers, cut inside its last PT_LOAD:
// the segment check itself catches it.
func TestCheckRefusesTruncatedSegment(t *testing.T) {
	so := cbuild.Plugin(t, "minimal")
	noSections := patched(t, so, "nosec.so", func(b []byte, order binary.ByteOrder) {
		// e_shoff, e_shnum and e_shstrndx, where each class keeps them.
		if elf.Class(b[elf.EI_CLASS]) == elf.ELFCLASS64 {
			order.PutUint64(b[0x28:], 0)
			order.PutUint32(b[0x3c:], 0)
		} else {
			order.PutUint32(b[0x20:], 0)
			order.PutUint32(b[0x30:], 0)
		}
	})
	require.NoError(t, libfile.Check(noSections, opts))
	f, err := elf.Open(noSections)
	require.NoError(t, err)
	last := -1
	for i, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			last = i
		}
	}
	f.Close()
	cut := filepath.Join(t.TempDir(), "cut.so")
	n := libfiletest.Truncated(t, noSections, cut)
	refused(t, libfile.Check(cut, opts), clawerr.OpenFailed,
		fmt.Sprintf("cut.so: PT_LOAD segment %d (offset ", last))
	refused(t, libfile.Check(cut, opts), clawerr.OpenFailed,
		fmt.Sprintf("ends past the end of the file (%d bytes): the file is truncated or malformed", n))
}

func TestCheckRefusesOtherMachineAndClass(t *testing.T) {
	so := cbuild.Plugin(t, "minimal")
	f, err := elf.Open(so)
	require.NoError(t, err)
	native, class := f.Machine, f.Class
	f.Close()
	other := elf.EM_AARCH64
	if native == other {
		other = elf.EM_X86_64
	}
	p := patched(t, so, "other.so", func(b []byte, order binary.ByteOrder) { order.PutUint16(b[0x12:], uint16(other)) })
	refused(t, libfile.Check(p, opts), clawerr.OpenFailed,
		fmt.Sprintf("other.so: an ELF file for %v, this host is %s (%v)", other, runtime.GOARCH, native))

	bits := map[elf.Class]string{elf.ELFCLASS32: "32-bit", elf.ELFCLASS64: "64-bit"}
	flipped := elf.ELFCLASS32 + elf.ELFCLASS64 - class
	p = patched(t, so, "class.so", func(b []byte, _ binary.ByteOrder) { b[elf.EI_CLASS] = byte(flipped) })
	refused(t, libfile.Check(p, opts), clawerr.OpenFailed,
		fmt.Sprintf("class.so: a %s ELF file, this host is %s (%s)", bits[flipped], bits[class], runtime.GOARCH))
}
