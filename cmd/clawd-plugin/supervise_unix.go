//go:build unix

package main

import (
	"os"
	"os/exec"
	"runtime/debug"
	"syscall"
)

const canSupervise = true

// becomeRunHost takes the descriptors the supervisor passed (fd 3: the
// crash report's pipe, fd 4: progress) and returns the progress pipe.
// Neither may leak into a process the host starts: the crash output is a
// close-on-exec copy, progress is marked so.
func becomeRunHost() *os.File {
	if crash := os.NewFile(3, "crash"); crash != nil {
		debug.SetCrashOutput(crash, debug.CrashOptions{})
		crash.Close()
	}
	syscall.CloseOnExec(4)
	return os.NewFile(4, "progress")
}

func killedBy(ee *exec.ExitError) (syscall.Signal, bool) {
	if ee == nil {
		return 0, false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0, false
	}
	return ws.Signal(), true
}
