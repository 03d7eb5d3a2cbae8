package isolate

import "runtime"

// The benchmark's floors: the raw transports between the same two
// processes, with the same blocking reads, so that the sandbox's round trip
// is measured against what the kernel alone costs. A child started with
// Floor > 0 echoes on its descriptors fdFloor.. : a request of any size in,
// 8 bytes back. Pairs of descriptors (in, out), or one for a socket.
func startFloors(n int) {
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
