package threads

import (
	"os"
	"runtime/metrics"
	"sort"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Take lists the process's threads (a Toolhelp snapshot, filtered by our
// process id) at a quiet moment, as on Linux: Go's count must not change
// while the snapshot is taken.
func Take() (Census, bool) {
	sample := []metrics.Sample{{Name: "/sched/threads/total:threads"}}
	pid := uint32(os.Getpid())
	for range 5 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return Census{}, false
		}
		before := sample[0].Value.Uint64()
		tids, ok := snapshot(pid)
		if !ok {
			return Census{}, false
		}
		metrics.Read(sample)
		if sample[0].Value.Uint64() != before {
			continue
		}
		sort.Ints(tids)
		return Census{tids: tids, goThreads: int(before)}, true
	}
	return Census{}, false
}

func snapshot(pid uint32) ([]int, bool) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return nil, false
	}
	defer windows.CloseHandle(snap)
	var te windows.ThreadEntry32
	te.Size = uint32(unsafe.Sizeof(te))
	var tids []int
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID == pid {
			tids = append(tids, int(te.ThreadID))
		}
	}
	return tids, err == windows.ERROR_NO_MORE_FILES
}
