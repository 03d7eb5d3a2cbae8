// Package libfiletest makes broken copies of real libraries for tests: the
// truncated file that would raise SIGBUS in a process that maps it.
package libfiletest

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"io"
	"os"
	"testing"
)

// LastLoad returns the file range [off, end) of the loadable part of the
// library at path that ends last: an ELF PT_LOAD, a Mach-O segment or a PE
// section.
func LastLoad(tb testing.TB, path string) (off, end int64) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	r := bytes.NewReader(data)
	consider := func(o, n uint64) {
		if n > 0 && int64(o+n) > end {
			off, end = int64(o), int64(o+n)
		}
	}
	if f, err := elf.NewFile(r); err == nil {
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD {
				consider(p.Off, p.Filesz)
			}
		}
	} else if f, err := macho.NewFile(r); err == nil {
		for _, l := range f.Loads {
			if s, ok := l.(*macho.Segment); ok {
				consider(s.Offset, s.Filesz)
			}
		}
	} else if f, err := pe.NewFile(r); err == nil {
		for _, s := range f.Sections {
			consider(uint64(s.Offset), uint64(s.Size))
		}
	} else {
		tb.Fatalf("%s: not an ELF, Mach-O or PE file", path)
	}
	if end == 0 {
		tb.Fatalf("%s: no loadable segment", path)
	}
	return off, end
}

// Truncated writes to dst a copy of the library src cut in the middle of
// its last loadable segment and returns the copy's size.
func Truncated(tb testing.TB, src, dst string) int64 {
	tb.Helper()
	off, end := LastLoad(tb, src)
	cut := off + (end-off)/2
	in, err := os.Open(src)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.CopyN(out, in, cut); err != nil {
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
	return cut
}
