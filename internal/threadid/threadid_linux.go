package threadid

import "syscall"

func current() uint64 { return uint64(syscall.Gettid()) }
