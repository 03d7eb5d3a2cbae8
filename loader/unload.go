package loader

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/clawd-go/clawd/internal/threads"
	"github.com/clawd-go/clawd/internal/vtable"
)

// unloadState tells what Close did with the plugin's library.
type unloadState uint32

const (
	// notClosed: Close has not finished.
	notClosed unloadState = iota
	// unmapped: the library was closed and is gone from the process's
	// mappings (checked in /proc/self/maps on Linux).
	unmapped
	// stillMapped: the library was closed but the system keeps it mapped
	// (another open of the same file, a library that pins itself, TLS
	// destructors), or, off Linux, nothing can tell.
	stillMapped
	// keptMapped: the loader did not close the library on purpose: the
	// plugin may have left a thread running in it, or on_unload did not
	// return in time. It stays mapped for the life of the process.
	keptMapped
)

func (s unloadState) String() string {
	switch s {
	case notClosed:
		return "not closed"
	case unmapped:
		return "unmapped"
	case stillMapped:
		return "still mapped"
	case keptMapped:
		return "kept mapped"
	}
	return fmt.Sprintf("unloadState(%d)", uint32(s))
}

// unloadState reports what Close did with the library: notClosed until Close
// has finished.
func (p *plugin) UnloadState() unloadState { return unloadState(p.unload.Load()) }

// defaultLifecycleTimeout bounds on_load and on_unload unless
// WithLoadTimeout or WithUnloadTimeout says otherwise.
const defaultLifecycleTimeout = 10 * time.Second

// threadSettle is how long Close waits for threads that are ending (a
// thread on_unload joined may still be listed for a moment).
const threadSettle = 100 * time.Millisecond

// unmapAlways, set by tests only, closes the library whatever the census
// says: the behaviour before the census, to show what it prevents.
var unmapAlways bool

// callLifecycle runs on_load (unload false) or on_unload on a goroutine
// locked to its thread and waits for it at most d. ok is false if it did
// not return in time: a native call cannot be interrupted, so that thread
// stays inside the plugin, holding the call's context, for as long as the
// plugin keeps it; the library must stay mapped under it. A negative d
// sets no bound: the callback runs on the caller's thread. err is non-nil
// only when there was no context memory for the call.
func (p *plugin) callLifecycle(fn uintptr, unload bool, d time.Duration) (r int32, ok bool, err error) {
	c, err := p.b.Acquire()
	if err != nil {
		return 0, false, err
	}
	call := func() int32 {
		c.Begin(context.Background())
		var r int32
		if unload {
			vtable.CallUnload(fn, c.Addr())
		} else {
			r = vtable.Call0(fn, c.Addr())
		}
		c.Release()
		return r
	}
	if d < 0 {
		return call(), true, nil
	}
	done := make(chan int32, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		done <- call()
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r = <-done:
		return r, true, nil
	case <-t.C:
		return 0, false, nil
	}
}

// lingering returns how many threads may have been started by native code
// since the plugin was opened and are still running, waiting a moment
// for threads that are ending. ok is false when this system cannot tell.
func (p *plugin) lingering() (n int, ok bool) {
	if !p.censusOK {
		return 0, false
	}
	deadline := time.Now().Add(threadSettle)
	for {
		now, ok := threads.Take()
		if !ok {
			return 0, false
		}
		n = now.NewForeign(p.census)
		if n == 0 || time.Now().After(deadline) {
			return n, true
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// who names the plugin in a message: its name, or its path before the name
// is known.
func (p *plugin) who() string {
	if p.name != "" {
		return p.name
	}
	return p.path
}
