// Package reentry is the one record of which OS threads are inside a
// plugin's send_event, running the host's sink, and of what they hold.
//
// A sink runs on the thread that called send_event, below the plugin's C
// frame, while the call that entered the plugin still holds that plugin.
// A call made from there into the same serialized plugin must nest on the
// same C stack instead of waiting for itself (Inside); a dispatch made from
// there must stay on this thread (Nested); host work that waits for calls
// in flight must refuse (Nested); and nesting is capped (MaxDepth) before
// the C stack overflows. Two sinks that call into each other's serialized
// plugins at the same moment would wait for each other forever: Mutex
// finds that cycle and refuses the later call.
//
// A goroutine running a C callback is locked to its thread, so the thread
// id tells which C stack a call would nest on. Enter costs one gettid; a
// thread outside every sink costs one atomic load to tell (Nested, Inside).
package reentry

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/clawd-go/clawd/internal/threadid"
)

// MaxDepth bounds the send_event calls nested on one thread: each is a C
// frame below a Go frame below a C frame.
const MaxDepth = 64

// Owner stands for one open plugin (one serialization domain). Its address
// is its identity; the name is for messages.
type Owner struct {
	Name string
}

// thread is what one OS thread is inside of, innermost last.
type thread struct {
	frames  []*Owner
	waiting *Owner // the owner whose Mutex this thread waits for, nil if none
}

var (
	active  atomic.Int64 // threads with at least one frame: the fast "no sink anywhere" test
	mu      sync.Mutex
	threads = map[uint64]*thread{}
)

// Frame is one send_event in progress on a thread, returned by Enter.
type Frame struct{ tid uint64 }

// ErrTooDeep is Enter's refusal past MaxDepth.
var ErrTooDeep = errors.New("send_event calls nested too deep")

// Enter records that the calling thread runs o's sink. Leave undoes it.
func Enter(o *Owner) (Frame, error) {
	tid := threadid.Current()
	mu.Lock()
	defer mu.Unlock()
	t := threads[tid]
	if t == nil {
		t = &thread{frames: make([]*Owner, 0, 4)}
		threads[tid] = t
	}
	if len(t.frames) >= MaxDepth {
		return Frame{}, ErrTooDeep
	}
	if len(t.frames) == 0 {
		active.Add(1)
	}
	t.frames = append(t.frames, o)
	return Frame{tid}, nil
}

// Leave ends the innermost frame Enter recorded.
func (f Frame) Leave() {
	mu.Lock()
	defer mu.Unlock()
	t := threads[f.tid]
	if t == nil || len(t.frames) == 0 {
		return
	}
	t.frames[len(t.frames)-1] = nil
	t.frames = t.frames[:len(t.frames)-1]
	if len(t.frames) == 0 {
		delete(threads, f.tid)
		active.Add(-1)
	}
}

// Nested reports whether the calling thread is inside any plugin's sink.
func Nested() bool {
	if active.Load() == 0 {
		return false
	}
	tid := threadid.Current()
	mu.Lock()
	defer mu.Unlock()
	return threads[tid] != nil
}

// Inside reports whether the calling thread is inside o's sink.
func Inside(o *Owner) bool {
	if active.Load() == 0 {
		return false
	}
	tid := threadid.Current()
	mu.Lock()
	defer mu.Unlock()
	return holds(threads[tid], o)
}

func holds(t *thread, o *Owner) bool {
	if t == nil {
		return false
	}
	for _, f := range t.frames {
		if f == o {
			return true
		}
	}
	return false
}

// Depth is how many send_event calls are in progress on the calling thread.
func Depth() int {
	if active.Load() == 0 {
		return 0
	}
	tid := threadid.Current()
	mu.Lock()
	defer mu.Unlock()
	if t := threads[tid]; t != nil {
		return len(t.frames)
	}
	return 0
}
