//go:build !unix

package contain

import (
	"errors"
	"os/exec"
)

// setProcAttr does nothing: Windows has no process groups to kill at once
// (a job object would be the tool, and this package does not make one).
func setProcAttr(*exec.Cmd) error { return nil }

// KillGroup kills the child alone: there is no process group here.
func KillGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return errors.New("contain: KillGroup: command not started")
	}
	return cmd.Process.Kill()
}
