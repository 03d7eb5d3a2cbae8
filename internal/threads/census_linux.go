package threads

import (
	"os"
	"runtime/metrics"
	"sort"
	"strconv"
	"time"
)

// Take lists the process's threads at a quiet moment: Go's count must not
// change while /proc/self/task is read, or a thread Go started in between
// would pass for a foreign one; and every thread Go counts must be listed
// (Go counts a thread before the kernel has made it: a census taken in
// between lists one thread fewer than Go counts, and the thread, listed
// later, would pass for a foreign one). ok is false if no quiet moment
// came in a few tries or the threads cannot be listed.
func Take() (Census, bool) { return take(goThreads, listTasks) }

func take(count func() (uint64, bool), list func() ([]int, error)) (Census, bool) {
	for try := range 20 {
		if try > 0 {
			time.Sleep(time.Duration(try) * 50 * time.Microsecond) // a thread being made is a clone away
		}
		before, ok := count()
		if !ok {
			return Census{}, false
		}
		tids, err := list()
		if err != nil {
			return Census{}, false
		}
		if after, _ := count(); after != before || uint64(len(tids)) < before {
			continue
		}
		sort.Ints(tids)
		return Census{tids: tids, goThreads: int(before)}, true
	}
	return Census{}, false
}

// goThreads is how many threads Go's runtime counts as its own.
func goThreads() (uint64, bool) {
	sample := []metrics.Sample{{Name: "/sched/threads/total:threads"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0, false
	}
	return sample[0].Value.Uint64(), true
}

func listTasks() ([]int, error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, err
	}
	tids := make([]int, 0, len(tasks))
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
