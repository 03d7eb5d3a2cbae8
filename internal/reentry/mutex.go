package reentry

import (
	"errors"
	"fmt"
	"sync"

	"github.com/clawd-go/clawd/internal/threadid"
)

// ErrDeadlock is Mutex.Lock's refusal of a wait that would never end.
var ErrDeadlock = errors.New("the call would deadlock")

// Mutex serializes the calls into one plugin. A call from inside the
// plugin's own sink re-enters without locking; a call that would close a
// cycle of sinks waiting for each other's plugins is refused.
type Mutex struct {
	mu    sync.Mutex
	on    Locker // the lock itself when it is kept elsewhere (NewMutexOn); nil: mu
	owner *Owner
}

// Locker is a lock kept outside the Mutex: in C memory, where a call shim
// takes it without the Go side (the native runtime's serial calls).
type Locker interface {
	TryLock() bool
	Lock()
	Unlock()
}

// NewMutex returns the lock of the plugin o stands for.
func NewMutex(o *Owner) *Mutex { return &Mutex{owner: o} }

// NewMutexOn returns the lock of the plugin o stands for, over l: the
// re-entry and deadlock rules are the same, the lock is l.
func NewMutexOn(o *Owner, l Locker) *Mutex { return &Mutex{owner: o, on: l} }

// Lock admits one call. reentered means the caller runs inside the
// plugin's own sink, below the call that holds the lock: it proceeds
// without the lock and must not Unlock. The error wraps ErrDeadlock.
func (m *Mutex) Lock() (reentered bool, err error) {
	if m.TryLock() { // the common case, inlined into the caller
		return false, nil
	}
	return m.lockSlow()
}

func (m *Mutex) lockSlow() (bool, error) {
	if active.Load() == 0 {
		m.lock() // no sink runs anywhere: the holder waits for nothing of ours
		return false, nil
	}
	tid := threadid.Current()
	mu.Lock()
	t := threads[tid]
	if holds(t, m.owner) {
		mu.Unlock()
		return true, nil // the holder is blocked below us on this thread
	}
	if t != nil {
		t.waiting = m.owner
		if chain := cycle(t, m.owner); chain != "" {
			t.waiting = nil
			mu.Unlock()
			return false, fmt.Errorf("%w: %s", ErrDeadlock, chain)
		}
	}
	mu.Unlock()
	m.lock()
	if t != nil {
		mu.Lock()
		t.waiting = nil
		mu.Unlock()
	}
	return false, nil
}

// cycle reports whether waiting for want closes a cycle back to thread me:
// some thread inside want's sink (so holding want) waits, directly or down
// a chain, for an owner whose sink me is inside. It describes the chain,
// or returns "". Called with mu held.
func cycle(me *thread, want *Owner) string {
	seen := map[*Owner]bool{}
	path := want.Name
	for want != nil && !seen[want] {
		seen[want] = true
		var next *Owner
		for _, t := range threads {
			if t == me || t.waiting == nil || !holds(t, want) {
				continue
			}
			if holds(me, t.waiting) {
				return fmt.Sprintf("%s waits for %s, whose event sink waits for it", path, t.waiting.Name)
			}
			next = t.waiting
			path += " -> " + next.Name
			break
		}
		want = next
	}
	return ""
}

func (m *Mutex) lock() {
	if m.on != nil {
		m.on.Lock()
		return
	}
	m.mu.Lock()
}

// Unlock ends a call that Lock admitted with reentered false.
func (m *Mutex) Unlock() {
	if m.on != nil {
		m.on.Unlock()
		return
	}
	m.mu.Unlock()
}

// LockPlain waits for the lock, for work outside any call (installing a
// restarted child, closing): never re-entry, and its wait is not checked
// for cycles.
func (m *Mutex) LockPlain() { m.lock() }

// TryLock takes the lock if it is free.
func (m *Mutex) TryLock() bool {
	if m.on != nil {
		return m.on.TryLock()
	}
	return m.mu.TryLock()
}
