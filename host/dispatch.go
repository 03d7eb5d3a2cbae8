package host

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/clock"
	"github.com/clawd-go/clawd/internal/reentry"
)

// Outcome is what one plugin did with one dispatch.
type Outcome struct {
	Plugin   string
	Version  string // of the instance that took the call
	Err      error  // nil, or a *clawerr.Error (callback_error matches the abi.Code too)
	Duration time.Duration
}

// Errors joins the errors of outs, nil if every plugin succeeded.
func Errors(outs []Outcome) error {
	var errs []error
	for _, o := range outs {
		if o.Err != nil {
			errs = append(errs, o.Err)
		}
	}
	return errors.Join(errs...)
}

// instance is one open copy of a plugin. refs counts the dispatches using
// it plus one for being current (the entry's cur); when the count reaches
// zero nobody can pick it again and drained is closed.
type instance struct {
	e       *entry
	p       clawd.Plugin
	path    string // the verified copy it was opened from
	version string
	refs    atomic.Int64
	drained chan struct{}
	hooks   hookGrant // the hooks it was opened with (verdict.go)
}

func newInstance(e *entry, p clawd.Plugin, path, version string) *instance {
	in := &instance{e: e, p: p, path: path, version: version, drained: make(chan struct{})}
	in.refs.Store(1)
	return in
}

// acquire takes a reference unless the count already reached zero: an
// instance that drained is never used again.
func (in *instance) acquire() bool {
	for {
		n := in.refs.Load()
		if n <= 0 {
			return false
		}
		if in.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (in *instance) release() {
	if in.refs.Add(-1) == 0 {
		close(in.drained)
	}
}

// pick returns the current instance with a reference held, or nil if the
// plugin is not active. The check after acquire makes a dispatch that read
// the pointer just before a swap retry on the new instance, so once the
// swap is done only the calls already running hold the old one.
func (e *entry) pick() *instance {
	for {
		in := e.cur.Load()
		if in == nil {
			return nil
		}
		if in.acquire() {
			if e.cur.Load() == in {
				return in
			}
			in.release()
		}
	}
}

// SessionStart calls on_session_start of every active plugin that has it.
func (h *Host) SessionStart(ctx context.Context, sessionID string) []Outcome {
	return h.dispatch(ctx, clawd.SessionStart(sessionID))
}

// SessionEnd calls on_session_end of every active plugin that has it.
func (h *Host) SessionEnd(ctx context.Context, sessionID string) []Outcome {
	return h.dispatch(ctx, clawd.SessionEnd(sessionID))
}

// ToolCall calls on_tool_call of every active plugin that has it.
func (h *Host) ToolCall(ctx context.Context, sessionID, toolName, inputJSON string) []Outcome {
	return h.dispatch(ctx, clawd.ToolCall(sessionID, toolName, inputJSON))
}

// Message calls on_message of every active plugin that has it. role is
// "user" or "assistant" by the ABI; it is passed as given.
func (h *Host) Message(ctx context.Context, sessionID, role, contentJSON string) []Outcome {
	return h.dispatch(ctx, clawd.Message(sessionID, role, contentJSON))
}

// maxInline is how many plugins a dispatch tracks without a heap slice.
const maxInline = 16

// dispatch picks the instance of every active plugin that has the callback
// (in name order, a reference held on each), calls them (the slow ones in
// parallel, see WithParallelThreshold) and returns their outcomes in that
// order once every call returned.
func (h *Host) dispatch(ctx context.Context, c clawd.Call) []Outcome {
	cb := c.Op.Callback()
	var buf [maxInline]*instance
	picked := buf[:0]
	for _, e := range *h.order.Load() {
		in := e.pick()
		if in == nil {
			continue
		}
		if !in.p.Has(cb) {
			in.release()
			continue
		}
		picked = append(picked, in)
	}
	if len(picked) == 0 {
		return nil
	}
	outs := make([]Outcome, len(picked))
	// A dispatch made from inside a sink runs every call on this thread: a
	// call into the plugin whose send_event is running must nest on the
	// same C stack (the loader lets it re-enter) instead of waiting on
	// another thread for the lock that this very call holds.
	if len(picked) == 1 || reentry.Nested() {
		for i, in := range picked {
			outs[i] = in.call(h.epoch, ctx, c)
		}
		return outs
	}
	// Plugins that were slow last time get goroutines of their own; the
	// quick ones, and one slow one, run here, in order.
	var fbuf [maxInline]bool
	forked := fbuf[:0]
	if len(picked) > maxInline {
		forked = make([]bool, 0, len(picked))
	}
	var wg *sync.WaitGroup // made only when a plugin forks: it escapes to the heap
	kept := false          // one slow plugin stays on this goroutine
	for i, in := range picked {
		fork := in.e.last.Load() >= int64(h.o.parallel)
		if fork && !kept {
			fork, kept = false, true
		}
		forked = append(forked, fork)
		if fork {
			if wg == nil {
				wg = new(sync.WaitGroup)
			}
			wg.Go(func() { outs[i] = in.call(h.epoch, ctx, c) })
		}
	}
	for i, in := range picked {
		if !forked[i] {
			outs[i] = in.call(h.epoch, ctx, c)
		}
	}
	if wg != nil {
		wg.Wait()
	}
	return outs
}

// call makes one call on an instance picked by dispatch, counts it and
// releases the reference.
func (in *instance) call(epoch time.Time, ctx context.Context, c clawd.Call) Outcome {
	defer in.release()
	start := clock.Mono() // one monotonic clock read, microseconds on Windows too
	err := in.p.Call(ctx, c)
	d := clock.Mono() - start
	in.e.stats.record(err, d)
	in.e.last.Store(int64(d))
	return Outcome{Plugin: in.e.name, Version: in.version, Err: err, Duration: d}
}

// sinkFor is the sink given to one plugin: it names the event after the
// plugin's name in the host (the runtime records the thread as inside a
// sink, for a nested dispatch to find).
func (h *Host) sinkFor(name string) clawd.Sink {
	s := h.o.sink
	if s == nil {
		return nil // the loader then refuses every event with DaemonError
	}
	return clawd.SinkFunc(func(ctx context.Context, ev clawd.Event) error {
		ev.Plugin = name
		return s.Deliver(ctx, ev)
	})
}
