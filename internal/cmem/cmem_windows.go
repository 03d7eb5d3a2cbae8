//go:build windows

package cmem

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

func osAlloc(n int) ([]byte, error) {
	addr, err := windows.VirtualAlloc(0, uintptr(n), windows.MEM_COMMIT|windows.MEM_RESERVE, windows.PAGE_READWRITE)
	if err != nil {
		return nil, err
	}
	// VirtualAlloc memory is outside the Go heap; the slice is only a view of
	// it (read through a *uintptr so vet does not take it for a Go pointer).
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))), n), nil
}

func osFree(b []byte) error {
	return windows.VirtualFree(uintptr(unsafe.Pointer(unsafe.SliceData(b))), 0, windows.MEM_RELEASE)
}
