package host

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/batch"
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

// Errors joins the errors of outs, a []Outcome or a []HookOutcome, nil
// if every plugin succeeded.
func Errors[O interface{ outcome() Outcome }](outs []O) error {
	var errs []error
	for _, o := range outs {
		if err := o.outcome().Err; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (o Outcome) outcome() Outcome { return o }

// instance is one open copy of a plugin. refs counts the dispatches using
// it plus one for being current (the entry's cur); when the count reaches
// zero nobody can pick it again and drained is closed. A call in a batch
// holds no reference (batchState).
type instance struct {
	e       *entry
	p       clawd.Plugin
	path    string // the verified copy it was opened from
	version string
	runtime string // clawd.RuntimeNative, ...: for the observer
	refs    atomic.Int64
	drained chan struct{}
	hooks   hookGrant    // the hooks it was opened with (verdict.go)
	batched bool         // a batch takes p (internal/batch): tk is its ticket
	tk      batch.Ticket // in place: a dispatch reads it next to the instance
}

func newInstance(e *entry, p clawd.Plugin, path, version string) *instance {
	in := &instance{e: e, p: p, path: path, version: version, drained: make(chan struct{})}
	if tk := batch.TicketOf(p); tk != nil {
		in.batched, in.tk = true, *tk
	}
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

// Call makes call c (clawd.ToolCall(...), clawd.Message(...), ...) on
// every active plugin that has its callback and returns their outcomes, in
// plugin name order.
func (h *Host) Call(ctx context.Context, c clawd.Call) []Outcome {
	return h.DispatchInto(ctx, c, nil)
}

// DispatchInto makes call c on every active plugin that has its callback,
// as Call does, and appends the outcomes to dst (in plugin
// name order), returning the extended slice. A caller that passes the
// previous result back as dst[:0] reuses its memory: a dispatch of quick
// plugins into a slice with room for them allocates nothing. dst is
// returned unchanged when no plugin has the callback; an Op out of range
// is nobody's callback.
func (h *Host) DispatchInto(ctx context.Context, c clawd.Call, dst []Outcome) []Outcome {
	if c.Op >= clawd.NumOps {
		return dst
	}
	order := *h.order.Load()
	// A dispatch made from inside a sink runs every call on this thread: a
	// call into the plugin whose send_event is running must nest on the
	// same C stack (the loader lets it re-enter) instead of waiting on
	// another thread for the lock that this very call holds.
	if reentry.Nested() || !h.anySlow(order) {
		return h.serial(ctx, c, order, dst)
	}
	return h.fanOut(ctx, c, order, dst)
}

// anySlow reports whether a dispatch would call some plugin on a goroutine
// of its own: two or more whose last call took at least the threshold (one
// slow plugin stays on the dispatching goroutine).
func (h *Host) anySlow(order []*entry) bool {
	if len(order) < 2 {
		return false
	}
	slow := 0
	for _, e := range order {
		if e.isSlow() {
			if slow++; slow == 2 {
				return true
			}
		}
	}
	return false
}

// serial calls the plugins one after the other on this goroutine, each
// instance picked just before its call. One clock read ends a call and
// starts the next one's: a plugin's duration includes the few nanoseconds
// the host takes to pick it. Native plugins go through a batch (internal/batch)
// (cgo builds): one crossing into C for a run of them, each timed in C;
// any other plugin, or one the batch does not admit, is called the
// ordinary way after the batch so far has run, so the order of calls is
// always the host's.
func (h *Host) serial(ctx context.Context, c clawd.Call, order []*entry, dst []Outcome) []Outcome {
	cb := c.Op.Callback()
	start := len(dst)
	var bs *batchState
	// One plugin: one crossing already. An observer gives each call a
	// context of its own, which a batch cannot carry.
	batching := batch.Available() && len(order) > 1 && h.o.obs == nil
	var t time.Duration
	timed := false
	for _, e := range order {
		if batching && e.slow.Load() == 0 {
			// A batch call takes no reference: see batchState.
			if in := e.cur.Load(); in != nil && in.batched {
				fn := in.tk.Fns[c.Op]
				if fn == 0 {
					continue // no such callback
				}
				if bs == nil {
					if bs = h.getBatch(ctx, c); bs == nil {
						batching = false // the ordinary way, for every plugin
					}
				}
				if bs != nil {
					if len(bs.ins) == batch.Max {
						dst = bs.run(h, ctx, dst)
					}
					en := &bs.ents[len(bs.ins)]
					en.Fn, en.Cell = fn, in.tk.Cell
					bs.ins = append(bs.ins, in)
					bs.at = append(bs.at, len(dst))
					dst = append(dst, Outcome{})
					continue
				}
			}
		}
		in := e.pick()
		if in == nil {
			continue
		}
		if !in.p.Has(cb) {
			in.release()
			continue
		}
		if bs != nil && len(bs.ins) > 0 {
			dst = bs.run(h, ctx, dst)
			timed = false
		}
		if ob := h.o.obs; ob != nil {
			dst = append(dst, in.observed(h, ob, ctx, c))
			timed = false
			continue
		}
		if !timed {
			t, timed = clock.Mono(), true // one monotonic clock read (microseconds on Windows too); time.Now reads two clocks
		}
		err := in.p.Call(ctx, c)
		end := clock.Mono()
		dst = append(dst, in.done(h, err, end-t))
		t = end
	}
	if bs != nil {
		dst = bs.run(h, ctx, dst)
		if bs.gone { // rare: a plugin reloaded or stopped mid-dispatch
			dst = append(dst[:start], slices.DeleteFunc(dst[start:], func(o Outcome) bool { return o.Plugin == "" })...)
			bs.gone = false
		}
		bs.b.Reset()
		bs.c = clawd.Call{} // keeps no strings in the pool
		h.batches.Put(bs)
	}
	return dst
}

// batchState is a batch and the instances it holds calls for, with the
// place of each one's outcome in dst. Reused through Host.batches. A call
// in a batch holds no reference to its instance (two atomic operations
// fewer per plugin): the shim takes the plugin's lock and checks that it
// is not closed, and an instance is closed only once it is out of e.cur,
// so a batch calls at most an instance swapped out but still open, as a
// dispatch that picked it just before the swap would. One it cannot call
// (closed meanwhile, or busy) gets the ordinary call, on the instance
// current then (callNow).
type batchState struct {
	c    clawd.Call // the dispatch's call: the batch reads it in place
	b    batch.Batch
	ents []batch.Entry // the batch's, in C memory
	ins  []*instance
	at   []int
	gone bool // a call the batch stopped at found no instance: its place in dst is empty
}

// getBatch returns a batch from the pool with call c begun, nil if none
// can be made (no C memory) or c cannot be made in one (the ordinary
// path then refuses or makes each call).
func (h *Host) getBatch(ctx context.Context, c clawd.Call) *batchState {
	bs, ok := h.batches.Get().(*batchState)
	if !ok {
		b, err := batch.New(latencyBounds)
		if err != nil || b == nil {
			return nil
		}
		bs = &batchState{b: b, ents: b.Entries(), ins: make([]*instance, 0, batch.Max), at: make([]int, 0, batch.Max)}
	}
	bs.c = c
	if !bs.b.Begin(ctx, &bs.c) {
		bs.c = clawd.Call{}
		h.batches.Put(bs)
		return nil
	}
	return bs
}

// run runs the batch and fills in its outcomes. A call the batch stops
// at (its plugin busy with another call, closed meanwhile) is made the
// ordinary way, on the instance current then, before the batch runs on:
// the order of calls stays the host's.
func (bs *batchState) run(h *Host, ctx context.Context, dst []Outcome) []Outcome {
	n := len(bs.ins)
	if n == 0 {
		return dst
	}
	op := bs.c.Op
	made := 0
	for k := 0; k < n; {
		stop, held := bs.b.Run(k, n)
		made += stop - k
		for ; k < stop; k++ {
			en, in := &bs.ents[k], bs.ins[k]
			if en.Code&batch.WakeBit != 0 {
				in.tk.Wake()
			}
			in.batchedOutcome(h, in.tk.Errs.Result(op, int32(uint32(en.Code))), time.Duration(en.NS), &dst[bs.at[k]])
		}
		if stop == n {
			break
		}
		if held && bs.ins[stop].tk.GoOn() {
			continue // its ring has the chunk it needed: run on from it
		}
		o, ok := bs.ins[stop].e.callNow(h, ctx, bs.c)
		dst[bs.at[stop]] = o
		bs.gone = bs.gone || !ok
		k = stop + 1
	}
	h.batched.Add(uint64(made))
	clear(bs.ins)
	bs.ins, bs.at = bs.ins[:0], bs.at[:0]
	return dst
}

// callNow makes c on e's current instance the ordinary way; ok is false
// when there is none, or it lacks the callback (a reload or stop since the
// batch took it): then there is no outcome.
func (e *entry) callNow(h *Host, ctx context.Context, c clawd.Call) (Outcome, bool) {
	in := e.pick()
	if in == nil {
		return Outcome{}, false
	}
	if !in.p.Has(c.Op.Callback()) {
		in.release()
		return Outcome{}, false
	}
	start := clock.Mono()
	err := in.p.Call(ctx, c)
	return in.done(h, err, clock.Mono()-start), true
}

// batchedOutcome writes to o the outcome of a call made in a batch, which
// counted its time in the plugin's own counters (batch.Measured): only a
// failure and the fan-out threshold are the host's to note. (Field by
// field: a whole Outcome copied through the stack stalls on its way.)
func (in *instance) batchedOutcome(h *Host, err error, d time.Duration, o *Outcome) {
	e := in.e
	if err != nil {
		e.stats.errs[codeIndex(codeOf(err))].Add(1)
	}
	e.timed(d, h.o.parallel)
	o.Plugin, o.Version, o.Err, o.Duration = e.name, in.version, err, d
}

// maxInline is how many plugins a fanned-out dispatch tracks without a
// heap slice.
const maxInline = 16

// fanOut picks the instance of every active plugin that has the callback
// (in name order, a reference held on each), calls the slow ones on
// goroutines of their own and the quick ones, and one slow one, here, in
// order, and returns once every call returned.
func (h *Host) fanOut(ctx context.Context, c clawd.Call, order []*entry, dst []Outcome) []Outcome {
	cb := c.Op.Callback()
	var buf [maxInline]*instance
	picked := buf[:0]
	for _, e := range order {
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
	n := len(dst)
	dst = slices.Grow(dst, len(picked))[:n+len(picked)]
	outs := dst[n:]
	var fbuf [maxInline]bool
	forked := fbuf[:0]
	if len(picked) > maxInline {
		forked = make([]bool, 0, len(picked))
	}
	var wg *sync.WaitGroup // made only when a plugin forks: it escapes to the heap
	kept := false          // one slow plugin stays on this goroutine
	for i, in := range picked {
		fork := in.e.isSlow()
		if fork && !kept {
			fork, kept = false, true
		}
		forked = append(forked, fork)
		if fork {
			if wg == nil {
				wg = new(sync.WaitGroup)
			}
			wg.Go(func() { outs[i] = in.call(h, ctx, c) })
		}
	}
	for i, in := range picked {
		if !forked[i] {
			outs[i] = in.call(h, ctx, c)
		}
	}
	if wg != nil {
		wg.Wait()
	}
	return dst
}

// call makes one call on an instance picked by fanOut, counts it and
// releases the reference.
func (in *instance) call(h *Host, ctx context.Context, c clawd.Call) Outcome {
	if ob := h.o.obs; ob != nil {
		return in.observed(h, ob, ctx, c)
	}
	start := clock.Mono()
	err := in.p.Call(ctx, c)
	return in.done(h, err, clock.Mono()-start)
}

// done counts a call that took d, releases the reference the dispatch held
// and returns the outcome.
func (in *instance) done(h *Host, err error, d time.Duration) Outcome {
	o := in.outcome(h, err, d)
	in.release()
	return o
}

// outcome counts a call that took d and returns its outcome.
func (in *instance) outcome(h *Host, err error, d time.Duration) Outcome {
	e := in.e
	e.stats.record(err, d)
	e.timed(d, h.o.parallel)
	return Outcome{Plugin: e.name, Version: in.version, Err: err, Duration: d}
}

// timed notes a call of d against the fan-out threshold thr: slow counts
// the calls in a row that took at least thr, up to 2. It is written only
// when it changes (a store is a locked instruction on some targets).
func (e *entry) timed(d, thr time.Duration) {
	n := e.slow.Load()
	switch {
	case d < thr:
		if n != 0 {
			e.slow.Store(0)
		}
	case n < 2:
		e.slow.Store(n + 1)
	}
}

// isSlow reports whether a dispatch calls the plugin on a goroutine of its
// own: its last two calls took at least the threshold. One slow call (a
// preemption, a page fault) is not enough: fanning a quick plugin out costs
// more than the call.
func (e *entry) isSlow() bool { return e.slow.Load() >= 2 }

// sinkFor is the sink given to one plugin: it names the event after the
// plugin's name in the host (the runtime records the thread as inside a
// sink, for a nested dispatch to find).
func (h *Host) sinkFor(name, runtime string) clawd.Sink {
	if eo := h.o.events; eo != nil {
		return h.observingSink(name, runtime, eo)
	}
	s := h.o.sink
	if s == nil {
		return nil // the loader then refuses every event with DaemonError
	}
	return clawd.SinkFunc(func(ctx context.Context, ev clawd.Event) error {
		ev.Plugin = name
		return s.Deliver(ctx, ev)
	})
}
