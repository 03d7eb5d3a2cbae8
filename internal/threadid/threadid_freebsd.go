package threadid

import (
	"syscall"
	"unsafe"
)

func current() uint64 {
	var id int64
	// thr_self writes the thread id into id; the pointer is to this frame.
	syscall.RawSyscall(syscall.SYS_THR_SELF, uintptr(unsafe.Pointer(&id)), 0, 0)
	return uint64(id)
}
