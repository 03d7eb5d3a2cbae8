//go:build unix

package child

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// pipeRef is how the child finds w: fd 3, the first of ExtraFiles.
func pipeRef(*os.File) string { return "3" }

// attachPipe hands w to the child as fd 3.
func attachPipe(cmd *exec.Cmd, w *os.File) { cmd.ExtraFiles = []*os.File{w} }

// attachFiles hands files to the child as fds 3 on.
func attachFiles(cmd *exec.Cmd, files []*os.File) { cmd.ExtraFiles = files }

// Handles is nil on Unix: the child finds its files at fds 3 on.
func Handles([]*os.File) []uint64 { return nil }

// setGroup puts the child in its own process group, so that a timeout kills
// whatever the plugin forked too, and has it die with this process.
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(cmd.SysProcAttr)
}

func signalOf(ps *os.ProcessState) string {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return ""
	}
	return sigName(ws.Signal())
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGBUS:
		return "SIGBUS"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGILL:
		return "SIGILL"
	case syscall.SIGFPE:
		return "SIGFPE"
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGTRAP:
		return "SIGTRAP"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	}
	return "signal " + strconv.Itoa(int(s)) + " (" + s.String() + ")"
}
