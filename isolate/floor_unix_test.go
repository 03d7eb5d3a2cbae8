//go:build unix

package isolate

import (
	"os"
	"runtime"
	"syscall"
)

// The benchmark's floors: the raw transports between the same two
// processes, with the same blocking reads, so that the sandbox's round trip
// is measured against what the kernel alone costs. A child started with
// Floor > 0 echoes on its descriptors fdFloor.. : a request of any size in,
// 8 bytes back. Pairs of descriptors (in, out), or one for a socket.
type floors struct{}

func init() { benchFloor = floors{} }

// files makes a pipe pair and a socketpair. host and child ends are in the
// child's descriptor order (fdFloor: request pipe, reply pipe, socket).
func (floors) files() (host, child []*os.File, err error) {
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

// serve runs in the child: an echo loop on each floor.
func (floors) serve(n int) {
	for i := 0; i < n; i++ {
		switch i {
		case 0: // pipe pair
			go echo(fdFloor, fdFloor+1)
		case 1: // socketpair
			go echo(fdFloor+2, fdFloor+2)
		}
	}
}

func echo(in, out uintptr) {
	runtime.LockOSThread() // a blocking read parks this thread, as the serving thread does
	buf := make([]byte, 64<<10)
	var reply [8]byte
	for {
		n, err := readFD(in, buf)
		if err != nil || n == 0 {
			return
		}
		if writeAll(out, reply[:]) != nil {
			return
		}
	}
}
