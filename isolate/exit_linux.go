package isolate

import (
	"os/exec"

	"golang.org/x/sys/unix"
)

// reap waits for the child to exit, runs dead at once (before it is reaped,
// whatever still holds its pipes or its stdout), then reaps it.
func reap(cmd *exec.Cmd, dead func()) {
	var info unix.Siginfo
	for {
		// WNOWAIT: the child stays a zombie for cmd.Wait to reap. Any other
		// answer than EINTR (ECHILD once reaped) means it is gone too.
		if err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != unix.EINTR {
			break
		}
	}
	dead()
	cmd.Wait()
}
