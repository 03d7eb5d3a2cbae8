//go:build unix

package cmem

import "syscall"

func osAlloc(n int) ([]byte, error) {
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
}

func osFree(b []byte) error { return syscall.Munmap(b) }
