//go:build unix && !linux

package contain

import (
	"fmt"
	"os/exec"
	"syscall"
)

// setProcAttr puts the child in its own process group. There is no
// parent-death signal here.
func setProcAttr(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	a := cmd.SysProcAttr
	if !a.Setsid { // a session leader already leads its own group
		if a.Setpgid && a.Pgid != 0 {
			return fmt.Errorf("contain: SysProcAttr.Pgid %d conflicts with a process group of the child's own", a.Pgid)
		}
		a.Setpgid = true
	}
	return nil
}

// start starts cmd (only Linux ties a child to its parent thread).
func start(cmd *exec.Cmd) error { return cmd.Start() }

func osProbe(Policy, *Report) bool { return false }
