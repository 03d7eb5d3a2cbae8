//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips || mipsle || mips64 || mips64le || ppc64 || ppc64le || riscv64 || s390x)

package sigaction

import (
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Supported is true where Save reads the kernel's actions.
const Supported = true

// saOnStack is SA_ONSTACK, the same value on every Linux architecture.
const saOnStack = 0x08000000

// sigsetSize is the sigsetsize argument rt_sigaction insists on.
const sigsetSize = unsafe.Sizeof(kernelSigaction{}.mask)

// Set is every signal's action at one moment.
type Set struct {
	a [nsig]kernelSigaction
}

// slot is what get and set hand the kernel: the struct and room for one
// more word. qemu-user reads and writes a word past the kernel's struct on
// riscv64, loong64 and 32-bit mips (a trailing sa_restorer the kernel does
// not have); without the room an emulated Save writes past its Set. musl
// and the Go runtime keep such a word too.
type slot struct {
	a kernelSigaction
	_ [2]uint64
}

func get(sig int, out *kernelSigaction) syscall.Errno {
	var s slot
	// s is only written for the length of the call.
	_, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&s)), sigsetSize, 0, 0)
	*out = s.a
	return e
}

func set(sig int, act *kernelSigaction) syscall.Errno {
	s := slot{a: *act}
	// s is only read for the length of the call.
	_, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&s)), 0, sigsetSize, 0, 0)
	return e
}

// Save reads the action of every signal.
func Save() *Set {
	s := new(Set)
	for sig := 1; sig < nsig; sig++ {
		get(sig, &s.a[sig])
	}
	return s
}

// Restore puts back every action that differs from s and returns the
// signals it had to restore. SIGKILL and SIGSTOP cannot change and are
// not looked at. A nil s restores nothing.
func (s *Set) Restore() []syscall.Signal {
	if s == nil {
		return nil
	}
	var changed []syscall.Signal
	for sig := 1; sig < nsig; sig++ {
		if sig == int(syscall.SIGKILL) || sig == int(syscall.SIGSTOP) {
			continue
		}
		var now kernelSigaction
		get(sig, &now)
		if now == s.a[sig] {
			continue
		}
		set(sig, &s.a[sig])
		changed = append(changed, syscall.Signal(sig))
	}
	return changed
}

// Diff returns the signals whose action in now differs from s, in signal
// order. It changes nothing.
func (s *Set) Diff(now *Set) []Change {
	if s == nil || now == nil {
		return nil
	}
	var out []Change
	for sig := 1; sig < nsig; sig++ {
		a := now.a[sig]
		if a == s.a[sig] {
			continue
		}
		name := unix.SignalName(syscall.Signal(sig))
		if name == "" {
			name = "signal " + strconv.Itoa(sig)
		}
		// 0 and 1 are SIG_DFL and SIG_IGN, not handlers.
		out = append(out, Change{Signal: syscall.Signal(sig), Name: name, NoStack: a.handler > 1 && uint64(a.flags)&saOnStack == 0})
	}
	return out
}
