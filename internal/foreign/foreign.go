// Package foreign reads memory that belongs to C: the plugin's vtable and
// strings, and the arguments of the host callbacks. Every read is bounded,
// and every string is copied onto the Go heap before it is returned, so
// nothing the caller keeps points into memory the plugin may free.
//
// All unsafe conversions of plugin addresses live in this file and in
// cmem; each one is a read of memory the Go runtime does not manage.
package foreign

import (
	"bytes"
	"errors"
	"os"
	"runtime/debug"
	"unicode/utf8"
	"unsafe"
)

var pageSize = uintptr(os.Getpagesize())

// Ptr turns the address of C memory into an unsafe.Pointer. The memory is
// not in the Go heap, so the collector neither moves nor frees it; going
// through a *uintptr keeps vet from mistaking this for a lost Go pointer.
func Ptr(addr uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}

// Bytes is a view of n bytes of C memory at addr. It is valid only as long
// as the owner keeps the memory; copy before keeping.
func Bytes(addr uintptr, n int) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(Ptr(addr)), n)
}

// Strlen returns the length of the NUL-terminated string at addr, reading
// at most max bytes, or -1 if no NUL is among them. It scans one page at a
// time so that no read crosses into a page the string does not reach.
func Strlen(addr uintptr, max int) int {
	n := 0
	for n < max {
		chunk := int(pageSize - (addr+uintptr(n))%pageSize)
		if chunk > max-n {
			chunk = max - n
		}
		if i := bytes.IndexByte(Bytes(addr+uintptr(n), chunk), 0); i >= 0 {
			return n + i
		}
		n += chunk
	}
	return -1
}

// Reasons for a failed read, for the caller's error messages.
var (
	ErrNull         = errors.New("NULL pointer")
	ErrUnterminated = errors.New("no NUL terminator within bound")
	ErrNotUTF8      = errors.New("not valid UTF-8")
	ErrFault        = errors.New("unreadable memory")
)

// String copies the NUL-terminated UTF-8 string at addr, whose NUL must be
// within the first max bytes (so the string has at most max-1 bytes). A read fault, as from a wild
// pointer in a vtable, is returned as ErrFault instead of crashing.
func String(addr uintptr, max int) (s string, err error) {
	if addr == 0 {
		return "", ErrNull
	}
	defer recoverFault(debug.SetPanicOnFault(true), &err)
	n := Strlen(addr, max)
	if n < 0 {
		return "", ErrUnterminated
	}
	b := Bytes(addr, n)
	if !utf8.Valid(b) {
		return "", ErrNotUTF8
	}
	return string(b), nil
}

// Copy copies size bytes at addr into dst, turning a read fault into
// ErrFault. It is how the host reads a vtable whose address it cannot trust.
func Copy(dst unsafe.Pointer, addr uintptr, size int) (err error) {
	if addr == 0 {
		return ErrNull
	}
	defer recoverFault(debug.SetPanicOnFault(true), &err)
	copy(unsafe.Slice((*byte)(dst), size), Bytes(addr, size))
	return nil
}

// recoverFault is deferred with the SetPanicOnFault setting it restores.
// It turns a memory fault into ErrFault; any other panic goes on.
func recoverFault(old bool, err *error) {
	debug.SetPanicOnFault(old)
	if r := recover(); r != nil {
		if _, ok := r.(interface{ Addr() uintptr }); ok {
			*err = ErrFault
			return
		}
		panic(r)
	}
}

// Memory is the host process's own memory, where a native plugin's
// strings live (boundary.Memory): an address is a C pointer.
type Memory struct{}

// CString reads the NUL-terminated string at addr, at most max bytes with
// its NUL, as a view of C memory; a read fault is ErrFault.
func (Memory) CString(addr uint64, max int) (b []byte, terminated bool, err error) {
	if addr == 0 {
		return nil, false, ErrNull
	}
	defer recoverFault(debug.SetPanicOnFault(true), &err)
	a := uintptr(addr)
	if n := Strlen(a, max); n >= 0 {
		return Bytes(a, n), true, nil
	}
	return Bytes(a, max-1), false, nil
}
