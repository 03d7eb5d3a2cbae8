//go:build !unix && !windows

package contain

import (
	"errors"
	"os/exec"
)

// setProcAttr does nothing: there are no process groups to kill at once.
func setProcAttr(*exec.Cmd) error { return nil }

func start(cmd *exec.Cmd) error { return cmd.Start() }

// KillGroup kills the child alone: there is no process group here.
func KillGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return errors.New("contain: KillGroup: command not started")
	}
	return cmd.Process.Kill()
}

func osProbe(Policy, *Report) bool { return false }
