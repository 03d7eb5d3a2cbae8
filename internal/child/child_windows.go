//go:build windows

package child

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// passPipe lets the child inherit w's handle; os/exec has no ExtraFiles on
// Windows. Not exercised by the tests here (they run on Unix).
func passPipe(cmd *exec.Cmd, w *os.File) string {
	h := syscall.Handle(w.Fd())
	// os.Pipe makes handles that are not inheritable; the list needs ones that are.
	_ = syscall.SetHandleInformation(h, syscall.HANDLE_FLAG_INHERIT, syscall.HANDLE_FLAG_INHERIT)
	cmd.SysProcAttr = &syscall.SysProcAttr{AdditionalInheritedHandles: []syscall.Handle{h}}
	return strconv.FormatUint(uint64(h), 10)
}

// setGroup: no process group to kill on Windows; the child alone is killed.
func setGroup(cmd *exec.Cmd) {}

func signalOf(ps *os.ProcessState) string { return "" }
