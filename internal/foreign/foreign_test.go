//go:build unix

package foreign

import (
	"errors"
	"syscall"
	"testing"
	"unsafe"
)

// twoPages maps two pages and makes the second unreadable, so a read one
// byte past the first page faults.
func twoPages(t *testing.T) []byte {
	t.Helper()
	ps := int(pageSize)
	m, err := syscall.Mmap(-1, 0, 2*ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mprotect(m[ps:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(m) })
	return m[:ps]
}

func addrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

func TestStringEndingAtAGuardPage(t *testing.T) {
	page := twoPages(t)
	for _, n := range []int{0, 1, 7, 15, 31, 33, 100} {
		start := len(page) - n - 1
		for i := 0; i < n; i++ {
			page[start+i] = 'a'
		}
		page[len(page)-1] = 0
		s, err := String(addrOf(page[start:]), 1<<20)
		if err != nil || len(s) != n {
			t.Fatalf("n=%d: got %d bytes, %v", n, len(s), err)
		}
	}
}

func TestUnterminatedIntoAGuardPageIsAFaultNotACrash(t *testing.T) {
	page := twoPages(t)
	for i := range page {
		page[i] = 'a'
	}
	_, err := String(addrOf(page[len(page)-10:]), 100)
	if !errors.Is(err, ErrFault) {
		t.Fatalf("got %v, want ErrFault", err)
	}
	// Within its bound, the same string is simply unterminated.
	_, err = String(addrOf(page[len(page)-10:]), 5)
	if !errors.Is(err, ErrUnterminated) {
		t.Fatalf("got %v, want ErrUnterminated", err)
	}
}

func TestStringChecks(t *testing.T) {
	page := twoPages(t)
	copy(page, "h\xc3\xa9llo\x00")
	if s, err := String(addrOf(page), 16); err != nil || s != "héllo" {
		t.Fatalf("got %q %v", s, err)
	}
	if _, err := String(addrOf(page), 6); !errors.Is(err, ErrUnterminated) {
		t.Fatalf("bound counts the NUL: got %v", err)
	}
	if s, err := String(addrOf(page), 7); err != nil || s != "héllo" {
		t.Fatalf("exact bound: got %q %v", s, err)
	}
	copy(page, "\xff\xfe\x00")
	if _, err := String(addrOf(page), 16); !errors.Is(err, ErrNotUTF8) {
		t.Fatalf("got %v", err)
	}
	if _, err := String(0, 16); !errors.Is(err, ErrNull) {
		t.Fatalf("got %v", err)
	}
}

func TestCopyFromUnmappedMemory(t *testing.T) {
	page := twoPages(t)
	var dst [16]byte
	err := Copy(unsafe.Pointer(&dst), addrOf(page)+pageSize, len(dst))
	if !errors.Is(err, ErrFault) {
		t.Fatalf("got %v, want ErrFault", err)
	}
	if err := Copy(unsafe.Pointer(&dst), addrOf(page), len(dst)); err != nil {
		t.Fatal(err)
	}
}
