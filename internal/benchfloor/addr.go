package benchfloor

import "unsafe"

// addr is the address of a view of C memory.
func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
