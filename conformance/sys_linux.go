package conformance

import "syscall"

func umask() (int, bool) {
	old := syscall.Umask(0o022)
	syscall.Umask(old)
	return old, true
}
