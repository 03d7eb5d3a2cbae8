//go:build unix

package isolate

import (
	"os"
	"syscall"
)

// Raw blocking file descriptors, not *os.File: a read that blocks parks the
// calling thread in the kernel instead of going through the netpoller,
// which costs 3-4x on a request/reply channel (measured: make bench, BenchmarkSandboxRatio).

func readFD(fd uintptr, b []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), b)
		if err == syscall.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

func writeFD(fd uintptr, b []byte) (int, error) {
	for {
		n, err := syscall.Write(int(fd), b)
		if err == syscall.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

// pipe returns a blocking pipe, close-on-exec on both ends; os/exec clears
// the flag on the end it hands to the child.
func pipe() (r, w *os.File, err error) {
	var p [2]int
	// Under ForkLock, so that no child forked meanwhile inherits the pair
	// before it is close-on-exec (darwin has no pipe2).
	syscall.ForkLock.RLock()
	err = syscall.Pipe(p[:])
	if err == nil {
		syscall.CloseOnExec(p[0])
		syscall.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, os.NewSyscallError("pipe", err)
	}
	// os.NewFile keeps a blocking descriptor out of the netpoller. The
	// *os.File must stay referenced while its descriptor is used raw: its
	// finalizer closes it.
	return os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1"), nil
}

// setCloexec keeps the child's inherited channel out of whatever the plugin
// executes.
func setCloexec(fd uintptr) { syscall.CloseOnExec(int(fd)) }
