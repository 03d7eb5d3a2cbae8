package boundary

import (
	"sync"

	"github.com/clawd-go/clawd"
)

// States delivers a supervised plugin's state changes to the host's state
// function (clawd.WithStateFunc) by one rule for every runtime: in the
// order they were reported, none dropped (a plugin's changes are bounded
// by its restarts), on a goroutine of their own, never inside a call, so
// that the function may call into the plugin. The goroutine runs only
// while changes are pending. Close delivers the pending changes before it
// returns; changes reported after it are not delivered. The function must
// therefore not wait for its own plugin's Close.
type States struct {
	f  func(clawd.State, error)
	wg sync.WaitGroup

	mu      sync.Mutex
	queue   []change
	running bool // a goroutine delivers the queue
	closed  bool
}

type change struct {
	s   clawd.State
	err error
}

// NewStates delivers to f; a nil f makes Report and Close do nothing.
func NewStates(f func(clawd.State, error)) *States { return &States{f: f} }

// Report queues a change; it never blocks and never calls f itself.
func (q *States) Report(s clawd.State, err error) {
	if q.f == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.queue = append(q.queue, change{s, err})
	if !q.running {
		q.running = true
		q.wg.Add(1)
		go q.deliver()
	}
}

func (q *States) deliver() {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.running = false
			q.queue = nil
			q.mu.Unlock()
			return
		}
		c := q.queue[0]
		q.queue = q.queue[1:]
		q.mu.Unlock()
		q.f(c.s, c.err)
	}
}

// Close waits until every change reported before it is delivered; later
// reports are dropped.
func (q *States) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.wg.Wait()
}
