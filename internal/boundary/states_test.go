package boundary

import (
	"errors"
	"testing"

	"github.com/clawd-go/clawd"
)

// Changes arrive in order and none is dropped, however many are reported
// while the function is held; Close returns once all are delivered.
func TestStatesInOrderNoneDropped(t *testing.T) {
	const n = 1000 // far more than any buffer a runtime would size
	release := make(chan struct{})
	var got []clawd.State
	q := NewStates(func(s clawd.State, _ error) {
		if len(got) == 0 {
			<-release // the first delivery waits until every change is reported
		}
		got = append(got, s)
	})
	want := make([]clawd.State, n)
	for i := range want {
		want[i] = clawd.State(i % 3)
		q.Report(want[i], nil)
	}
	close(release)
	q.Close()
	if len(got) != n {
		t.Fatalf("%d changes delivered, want %d", len(got), n)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("change %d is %v, want %v", i, got[i], want[i])
		}
	}
	q.Report(clawd.StateUp, nil) // after Close: not delivered
	if len(got) != n {
		t.Fatalf("a change after Close was delivered")
	}
}

// Report never runs the function on the reporter's goroutine: a reporter
// that holds a lock the function takes does not deadlock.
func TestStatesNotOnTheReporter(t *testing.T) {
	held := make(chan struct{}, 1)
	held <- struct{}{} // the "slot lock", held by the reporter
	var why error
	q := NewStates(func(_ clawd.State, err error) {
		<-held // takes the lock: would never return if run inside Report
		why = err
		held <- struct{}{}
	})
	cause := errors.New("trap")
	<-held
	q.Report(clawd.StateDown, cause)
	held <- struct{}{} // the call lets go of its slot
	q.Close()
	if why != cause {
		t.Fatalf("error %v, want %v", why, cause)
	}
}

func TestStatesNilFunc(t *testing.T) {
	q := NewStates(nil)
	q.Report(clawd.StateDown, nil)
	q.Close()
	q.Close()
}
