//go:build unix

package contain

import (
	"errors"
	"os/exec"
	"syscall"
)

// KillGroup kills the child's whole process group with SIGKILL, so that
// whatever the plugin forked goes too; without a group of its own, the
// child alone.
func KillGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return errors.New("contain: KillGroup: command not started")
	}
	// Prepare made the child a group leader, so its pid names its group.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return cmd.Process.Kill()
	}
	return nil
}
