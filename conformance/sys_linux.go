package conformance

import (
	"os"
	"runtime/metrics"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelSigaction is struct sigaction as the rt_sigaction system call
// takes it on linux/amd64 and linux/arm64 (as loader/signals_linux.go).
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const (
	nsig      = 65
	saOnStack = 0x08000000
)

// sigActions is every signal's action at one moment, read from the kernel
// so that it sees what a plugin installed, through libc or not.
type sigActions [nsig]kernelSigaction

const signalsSupported = true

func readSignals() *sigActions {
	s := new(sigActions)
	for sig := 1; sig < nsig; sig++ {
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&s[sig])), 8, 0, 0)
	}
	return s
}

// restore puts back every action that differs from s.
func (s *sigActions) restore() {
	if s == nil {
		return
	}
	now := readSignals()
	for sig := 1; sig < nsig; sig++ {
		if sig == int(syscall.SIGKILL) || sig == int(syscall.SIGSTOP) || now[sig] == s[sig] {
			continue
		}
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&s[sig])), 0, 8, 0, 0)
	}
}

// changedSignal is a signal whose action differs between two readings.
type changedSignal struct {
	name    string
	noStack bool // the new action is a handler without SA_ONSTACK
}

func (s *sigActions) changes(now *sigActions) []changedSignal {
	var out []changedSignal
	for sig := 1; sig < nsig; sig++ {
		if now[sig] == s[sig] {
			continue
		}
		name := unix.SignalName(syscall.Signal(sig))
		if name == "" {
			name = "signal " + strconv.Itoa(sig)
		}
		h := now[sig].handler
		out = append(out, changedSignal{name: name, noStack: h > 1 && now[sig].flags&saOnStack == 0})
	}
	return out
}

// foreignThreads counts the process's threads that the Go runtime does not
// own: the plugin's (and libc's). ok is false where it cannot be counted.
func foreignThreads() (n int, ok bool) {
	sample := []metrics.Sample{{Name: "/sched/threads/total:threads"}}
	for range 5 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0, false
		}
		before := sample[0].Value.Uint64()
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return 0, false
		}
		metrics.Read(sample)
		// Go may start a thread between the readings; take a quiet moment.
		if sample[0].Value.Uint64() == before {
			return len(tasks) - int(before), true
		}
	}
	return 0, false
}

func umask() (int, bool) {
	old := syscall.Umask(0o022)
	syscall.Umask(old)
	return old, true
}
