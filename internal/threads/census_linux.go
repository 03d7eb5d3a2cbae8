package threads

import (
	"os"
	"runtime/metrics"
	"sort"
	"strconv"
)

// Take lists the process's threads at a quiet moment: Go's count must not
// change while /proc/self/task is read, or a thread Go started in between
// would pass for a foreign one. ok is false if no quiet moment came in a
// few tries or the threads cannot be listed.
func Take() (Census, bool) {
	sample := []metrics.Sample{{Name: "/sched/threads/total:threads"}}
	for range 5 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return Census{}, false
		}
		before := sample[0].Value.Uint64()
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return Census{}, false
		}
		metrics.Read(sample)
		if sample[0].Value.Uint64() != before {
			continue
		}
		tids := make([]int, 0, len(tasks))
		for _, t := range tasks {
			if tid, err := strconv.Atoi(t.Name()); err == nil {
				tids = append(tids, tid)
			}
		}
		sort.Ints(tids)
		return Census{tids: tids, goThreads: int(before)}, true
	}
	return Census{}, false
}
