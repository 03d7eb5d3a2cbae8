package loader

import (
	"syscall"
	"unsafe"
)

// kernelSigaction is struct sigaction as the rt_sigaction system call takes
// it on linux/amd64 and linux/arm64.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const nsig = 65

// signalState is every signal's action at one moment.
type signalState [nsig]kernelSigaction

// saveSignals reads the action of every signal straight from the kernel,
// so it sees what a plugin installed whether through libc or not.
func saveSignals() *signalState {
	s := new(signalState)
	for sig := 1; sig < nsig; sig++ {
		// s lives on the Go heap only for the length of this system call.
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&s[sig])), 8, 0, 0)
	}
	return s
}

// restore puts back every action that differs from s and returns the
// signals it had to restore.
func (s *signalState) restore() []syscall.Signal {
	var changed []syscall.Signal
	for sig := 1; sig < nsig; sig++ {
		if sig == int(syscall.SIGKILL) || sig == int(syscall.SIGSTOP) {
			continue
		}
		var now kernelSigaction
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&now)), 8, 0, 0)
		if now == s[sig] {
			continue
		}
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&s[sig])), 0, 8, 0, 0)
		changed = append(changed, syscall.Signal(sig))
	}
	return changed
}

// signalGuard is true where the loader saves and restores signal actions.
const signalGuard = true
