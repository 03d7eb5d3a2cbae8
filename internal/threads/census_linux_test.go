package threads

import "testing"

// A census taken while Go has counted a thread the kernel has not made
// yet lists fewer threads than Go counts; taken then, the thread would
// pass for a foreign one once it shows. Take waits for the listing to
// catch up.
func TestCensusWaitsForAThreadGoCountsButTheKernelHasNotMade(t *testing.T) {
	lists := [][]int{{1, 2, 3}, {1, 2, 3, 4}}
	calls := 0
	c, ok := take(func() (uint64, bool) { return 4, true }, func() ([]int, error) {
		l := lists[min(calls, len(lists)-1)]
		calls++
		return append([]int(nil), l...), nil
	})
	if !ok || c.Len() != 4 || c.Foreign() != 0 {
		t.Fatalf("census %v ok %v: want the 4 threads Go counts, none foreign", c, ok)
	}
	later := Census{tids: []int{1, 2, 3, 4}, goThreads: 4}
	if n := later.NewForeign(c); n != 0 {
		t.Fatalf("the thread Go made passes for %d foreign", n)
	}
	// Never caught up: no census rather than a wrong one.
	if _, ok := take(func() (uint64, bool) { return 4, true }, func() ([]int, error) { return []int{1, 2, 3}, nil }); ok {
		t.Fatal("a census that never lists what Go counts was taken")
	}
}
