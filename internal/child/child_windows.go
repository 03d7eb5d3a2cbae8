//go:build windows

package child

import (
	"fmt"
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

// signalOf names the exception a child died of: a process that faults
// (and whose fault no handler took) exits with the exception's NTSTATUS.
func signalOf(ps *os.ProcessState) string { return exceptionName(uint32(ps.ExitCode())) }

// exceptionName is "exception 0xC0000005 (access violation)" for an exit
// status that is an NTSTATUS error, "" for any other status.
func exceptionName(code uint32) string {
	if code < 0xC0000000 && code != 0x80000003 {
		return ""
	}
	what := map[uint32]string{
		0x80000003: "breakpoint",
		0xC0000005: "access violation",
		0xC000001D: "illegal instruction",
		0xC0000094: "integer divide by zero",
		0xC00000FD: "stack overflow",
		0xC0000374: "heap corruption",
		0xC0000409: "fail fast (abort or a stack buffer overrun)",
	}[code]
	if what == "" {
		return fmt.Sprintf("exception 0x%08X", code)
	}
	return fmt.Sprintf("exception 0x%08X (%s)", code, what)
}
