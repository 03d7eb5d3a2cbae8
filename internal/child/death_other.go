//go:build unix && !linux

package child

import "syscall"

// setDeathSignal: no parent-death signal outside Linux; a timeout still
// kills the child's group.
func setDeathSignal(*syscall.SysProcAttr) {}
