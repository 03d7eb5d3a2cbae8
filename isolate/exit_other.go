//go:build !linux

package isolate

import "os/exec"

// reap waits for the child (cmd.Wait: here nothing tells of an exit
// without reaping), then runs dead.
func reap(cmd *exec.Cmd, dead func()) {
	cmd.Wait()
	dead()
}
