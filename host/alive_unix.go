//go:build unix

package host

import (
	"errors"
	"syscall"
)

// processAlive reports whether pid names a process (EPERM: one of another
// user's, alive).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
