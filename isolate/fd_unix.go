//go:build unix

package isolate

import (
	"os"
	"syscall"
)

// Raw blocking file descriptors, not *os.File: a read that blocks parks the
// calling thread in the kernel instead of going through the netpoller,
// which costs 3-4x on a request/reply channel (DESIGN.md section 7).

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

// floorFiles makes the benchmark's raw channels: a pipe pair and a
// socketpair. host and child ends are in the child's descriptor order
// (fdFloor: request pipe, reply pipe, socket).
func floorFiles() (host, child []*os.File, err error) {
	reqR, reqW, err := pipe()
	if err != nil {
		return nil, nil, err
	}
	repR, repW, err := pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, nil, err
	}
	syscall.ForkLock.RLock()
	sp, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(sp[0])
		syscall.CloseOnExec(sp[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		for _, f := range []*os.File{reqR, reqW, repR, repW} {
			f.Close()
		}
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	host = []*os.File{reqW, repR, os.NewFile(uintptr(sp[0]), "socket")}
	child = []*os.File{reqR, repW, os.NewFile(uintptr(sp[1]), "socket")}
	return host, child, nil
}
