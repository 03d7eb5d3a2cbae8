package threadid

import "syscall"

func current() uint64 {
	r, _, _ := syscall.RawSyscall(syscall.SYS_THREAD_SELFID, 0, 0, 0)
	return uint64(r)
}
