//go:build linux && (386 || arm)

package contain

import "golang.org/x/sys/unix"

// The id system calls that take 32-bit ids (the plain ones take 16 bits
// on these architectures).
const (
	sysSetgroups = unix.SYS_SETGROUPS32
	sysSetresgid = unix.SYS_SETRESGID32
	sysSetresuid = unix.SYS_SETRESUID32
)
