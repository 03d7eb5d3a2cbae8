package contain

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// canNewNet tells whether this process may start a child in a network
// namespace of its own (CAP_SYS_ADMIN, which a root host has).
func canNewNet() bool { return hasCap(unix.CAP_SYS_ADMIN) }

// setNetNS starts the child in a new, empty network namespace: only a
// loopback interface that is down, so no address, local or remote, is
// reachable even by a socket the seccomp filter did not see.
func setNetNS(cmd *exec.Cmd) { cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWNET }
