package contain

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// canNewIPC tells whether this process may start a child in an IPC
// namespace of its own: the privilege a network namespace needs
// (CAP_SYS_ADMIN). A variable, so that the tests can take it away.
var canNewIPC = func() bool { return hasCap(unix.CAP_SYS_ADMIN) }

// setIPCNS starts the child in a new, empty IPC namespace: no System V
// shared memory segment, semaphore set or message queue of the host, and
// no POSIX message queue (mq_open), is reachable from it, whatever their
// owner permissions say.
func setIPCNS(cmd *exec.Cmd) { cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWIPC }

// noteNoIPCNS is the note for a child that shares the host's IPC namespace.
const noteNoIPCNS = "the child shares the host's IPC namespace (System V shared memory, semaphores, message queues; POSIX message queues): one of its own needs CAP_SYS_ADMIN"
