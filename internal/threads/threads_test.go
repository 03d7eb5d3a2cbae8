package threads

import (
	"runtime"
	"sync"
	"testing"
)

func census(goThreads int, tids ...int) Census { return Census{tids: tids, goThreads: goThreads} }

func TestNewForeign(t *testing.T) {
	before := census(3, 10, 11, 12, 20)
	for _, c := range []struct {
		name  string
		after Census
		want  int
	}{
		{"nothing changed", census(3, 10, 11, 12, 20), 0},
		{"a foreign thread ended", census(3, 10, 11, 12), 0},
		{"Go started a thread", census(4, 10, 11, 12, 20, 30), 0},
		{"a foreign thread started", census(3, 10, 11, 12, 20, 31), 1},
		{"one of each", census(4, 10, 11, 12, 20, 30, 31), 1},
		// A Go thread ended and a foreign one took the count's place: in
		// doubt, it is counted.
		{"a Go thread ended, a foreign one started", census(2, 10, 11, 20, 31), 2},
		{"a foreign thread replaced another", census(3, 10, 11, 12, 31), 1},
	} {
		if got := c.after.NewForeign(before); got != c.want {
			t.Errorf("%s: NewForeign = %d, want %d", c.name, got, c.want)
		}
	}
}

// Threads Go starts are never taken for foreign ones.
func TestGoThreadsAreNotForeign(t *testing.T) {
	before, ok := Take()
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("no census on Linux")
		}
		if _, ok := Foreign(); ok {
			t.Fatal("Foreign counts where Take cannot")
		}
		return
	}
	// Each goroutine locked to its thread while it waits holds that thread:
	// more of them than there are threads make Go start new ones.
	n := before.Len() + 8
	var started, release sync.WaitGroup
	started.Add(n)
	release.Add(1)
	var done sync.WaitGroup
	for range n {
		done.Add(1)
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			started.Done()
			release.Wait()
		}()
	}
	started.Wait()
	after, ok := Take()
	release.Done()
	done.Wait()
	if !ok {
		t.Fatal("no second census")
	}
	if after.Len() <= before.Len() {
		t.Fatalf("Go started no thread: %d then %d", before.Len(), after.Len())
	}
	if got := after.NewForeign(before); got != 0 {
		t.Fatalf("NewForeign = %d after Go started %d threads, want 0", got, after.Len()-before.Len())
	}
}
