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
// on Windows.
func attachPipe(cmd *exec.Cmd, w *os.File) { attachFiles(cmd, []*os.File{w}) }

// attachFiles lets the child inherit the files' handles, and no other
// (syscall passes the list as PROC_THREAD_ATTRIBUTE_HANDLE_LIST).
func attachFiles(cmd *exec.Cmd, files []*os.File) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	for _, f := range files {
		h := syscall.Handle(f.Fd())
		// os.Pipe makes handles that are not inheritable; the list needs
		// ones that are. Only processes whose list names them get them.
		_ = syscall.SetHandleInformation(h, syscall.HANDLE_FLAG_INHERIT, syscall.HANDLE_FLAG_INHERIT)
		cmd.SysProcAttr.AdditionalInheritedHandles = append(cmd.SysProcAttr.AdditionalInheritedHandles, h)
	}
}

// Handles are the values the child sees the files' handles by: the same.
func Handles(files []*os.File) []uint64 {
	hs := make([]uint64, len(files))
	for i, f := range files {
		hs[i] = uint64(f.Fd())
	}
	return hs
}

// setGroup: no process group to kill on Windows; the child alone is killed.
func setGroup(cmd *exec.Cmd) {}

func signalOf(ps *os.ProcessState) string { return "" }
