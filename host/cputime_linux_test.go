package host_test

import "golang.org/x/sys/unix"

// threadCPU is the calling thread's CPU time in ns (the caller keeps its
// goroutine on the thread): what a benchmark spent running, without the
// time other processes of a loaded machine took from it.
func threadCPU() (int64, bool) {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0, false
	}
	return ts.Nano(), true
}
