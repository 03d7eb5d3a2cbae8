package conformance

import (
	"os"
	"runtime/metrics"
	"syscall"
)

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
