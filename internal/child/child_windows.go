//go:build windows

package child

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// pipeRef is how the child finds w: its handle, inherited.
func pipeRef(w *os.File) string { return strconv.FormatUint(uint64(w.Fd()), 10) }

// attachPipe lets the child inherit w's handle; os/exec has no ExtraFiles
// on Windows. Not exercised by the tests here (they run on Unix).
func attachPipe(cmd *exec.Cmd, w *os.File) {
	h := syscall.Handle(w.Fd())
	// os.Pipe makes handles that are not inheritable; the list needs ones that are.
	_ = syscall.SetHandleInformation(h, syscall.HANDLE_FLAG_INHERIT, syscall.HANDLE_FLAG_INHERIT)
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.AdditionalInheritedHandles = append(cmd.SysProcAttr.AdditionalInheritedHandles, h)
}

// setGroup: no process group to kill on Windows; the child alone is killed.
func setGroup(cmd *exec.Cmd) {}

func signalOf(ps *os.ProcessState) string { return "" }
