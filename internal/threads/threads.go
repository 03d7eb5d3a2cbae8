// Package threads takes a census of the process's threads and tells those
// Go's runtime started from the others: a native library's (and libc's).
// The loader uses it to decide whether a plugin may have left a thread
// running in its library; the conformance suite to report such a plugin.
//
// Linux only: it lists /proc/self/task and reads Go's own thread count
// (runtime/metrics /sched/threads/total:threads, which counts neither the
// extra Ms cgo keeps for C threads calling into Go nor the threads that
// borrow them). Elsewhere Take reports ok false.
package threads

import "sort"

// Census is the set of the process's threads at one moment, and how many
// of them Go's runtime started.
type Census struct {
	tids      []int // sorted
	goThreads int
}

// Foreign is the number of threads in c that Go's runtime did not start.
func (c Census) Foreign() int { return len(c.tids) - c.goThreads }

// Len is the number of threads in c.
func (c Census) Len() int { return len(c.tids) }

// NewForeign is how many threads of c, at most, were started since
// earlier by code other than Go's runtime and are still running: the
// threads of c not in earlier, less the growth of Go's own count. It never
// counts fewer than there are (a Go thread that ended in between makes it
// count more), so a zero means none, unless a thread id was reused in
// between (Linux hands ids out in a cycle of pid_max).
func (c Census) NewForeign(earlier Census) int {
	added := 0
	for _, tid := range c.tids {
		i := sort.SearchInts(earlier.tids, tid)
		if i == len(earlier.tids) || earlier.tids[i] != tid {
			added++
		}
	}
	if n := added - (c.goThreads - earlier.goThreads); n > 0 {
		return n
	}
	return 0
}

// Foreign counts the process's threads that Go's runtime did not start.
// ok is false where they cannot be counted.
func Foreign() (n int, ok bool) {
	c, ok := Take()
	if !ok {
		return 0, false
	}
	return c.Foreign(), true
}
