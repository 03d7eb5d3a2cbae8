package threadid

import (
	"runtime"
	"sync"
	"testing"
)

// A goroutine locked to its thread sees one id; two threads see two.
func TestCurrentNamesTheThread(t *testing.T) {
	var got [2][2]uint64
	var read, done sync.WaitGroup
	read.Add(2)
	done.Add(2)
	for i := range got {
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			got[i][0] = Current()
			runtime.Gosched()
			got[i][1] = Current()
			read.Done()
			read.Wait() // both threads alive while the ids are taken
		}()
	}
	done.Wait()
	x, y := got[0], got[1]
	if x[0] != x[1] || y[0] != y[1] {
		t.Fatalf("id changed on a locked thread: %v %v", x, y)
	}
	if x[0] == y[0] {
		t.Fatalf("two threads share id %d", x[0])
	}
}
