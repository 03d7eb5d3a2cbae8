package wasm

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// Deadlines without wazero's close-on-done: the module is instrumented
// (internal/wasminterrupt) with a check at every function entry and loop
// head, which counts down and, at 0, passes through Go (where a garbage
// collection can stop the guest) and traps if the flag is set. One
// watchdog for the whole process sets the flag of an instance whose call
// ran past its deadline and zeroes its countdown; the guest traps at its
// next check, and the call returns timeout. A call registers its
// deadline in the watchdog's heap through its slot's watch, made with the
// slot: arming and disarming take a lock and move a pointer in a heap, and
// allocate nothing.

// cancelPoll is how often the watchdog looks at the contexts of the calls
// in flight that can be canceled: a cancellation has no time to wait for,
// and watching each context's channel would take a goroutine per call.
const cancelPoll = 2 * time.Millisecond

// Why a watch fired.
const (
	firedDeadline = 1
	firedCanceled = 2
)

// epoch is the origin of the watchdog's times: monotonic nanoseconds.
var epoch = time.Now()

func monoNow() int64 { return int64(time.Since(epoch)) }

// watch is a slot's place in the watchdog's heap. Its fields are the
// watchdog's (guarded by its lock) but for when, which the slot's own
// goroutine also reads (nanosleep): it writes it under the lock too.
type watch struct {
	flag  *interrupt      // the instance's; nil: nothing to interrupt
	when  int64           // the deadline (monoNow); 0: none
	ctx   context.Context // polled for cancellation when it can be canceled
	index int             // in the heap; -1: not in it
	fired int             // firedDeadline, firedCanceled, or 0
}

// interrupt is an instance's two globals of the instrumentation.
type interrupt struct {
	flag, countdown api.MutableGlobal
}

// watchdog is the one goroutine that interrupts calls.
type watchdog struct {
	mu      sync.Mutex
	heap    []*watch // by when, 0 (no deadline) last
	polled  int      // watches in the heap with a context to poll
	next    int64    // when the goroutine wakes next; 0: it waits for wake
	wake    chan struct{}
	started bool
}

var dog = &watchdog{wake: make(chan struct{}, 1)}

// guard is what enter replaced, for leave to put back: an outer call's
// deadline when a sink's call nests in the same instance.
type guard struct {
	when int64
	ctx  context.Context
	on   bool
}

// enter arms w for what is about to run in its instance (flag, nil if the
// module is not instrumented): until when (0: none) or until ctx is
// canceled, and no later than what is armed already (an outer call's).
func (d *watchdog) enter(w *watch, flag *interrupt, when int64, ctx context.Context) guard {
	d.mu.Lock()
	g := guard{when: w.when, ctx: w.ctx, on: w.index >= 0}
	if g.on {
		d.remove(w)
		if g.when != 0 && (when == 0 || g.when < when) {
			when = g.when
		}
	}
	w.flag = flag
	w.when, w.ctx = when, nil
	if ctx != nil && ctx.Done() != nil {
		w.ctx = ctx
	}
	if w.flag != nil && (w.when != 0 || w.ctx != nil) {
		d.push(w)
	}
	d.mu.Unlock()
	return g
}

// leave disarms w and reports why it fired (0: it did not); a fired flag
// is cleared, so the instance, if it is kept, runs again. What g holds
// (the outer call's deadline) is armed again: past it, the outer call
// is interrupted at once.
func (d *watchdog) leave(w *watch, g guard) int {
	d.mu.Lock()
	if w.index >= 0 {
		d.remove(w)
	}
	fired := w.fired
	if fired != 0 {
		w.fired = 0
		w.flag.flag.Set(0) // the countdown reloads at the next check
	}
	w.when, w.ctx = g.when, g.ctx
	if g.on {
		d.push(w)
	}
	d.mu.Unlock()
	return fired
}

// attach gives w the flag of the instance just made for what enter armed
// (the load), and arms it.
func (d *watchdog) attach(w *watch, flag *interrupt) {
	d.mu.Lock()
	w.flag = flag
	if w.index < 0 && (w.when != 0 || w.ctx != nil) {
		d.push(w)
	}
	d.mu.Unlock()
}

// deadlineOf is the deadline (monoNow) of what runs under ctx, or
// timeout from now if that is earlier (0: no timeout); 0 if none.
func deadlineOf(ctx context.Context, timeout time.Duration) int64 {
	var when int64
	if dl, ok := ctx.Deadline(); ok {
		when = max(int64(dl.Sub(epoch)), 1)
	}
	if timeout > 0 {
		if t := monoNow() + int64(timeout); when == 0 || t < when {
			when = t
		}
	}
	return when
}

// interrupted reports why w fired while it is armed (0: it did not).
func (d *watchdog) interrupted(w *watch) int {
	d.mu.Lock()
	f := w.fired
	d.mu.Unlock()
	return f
}

// push adds w to the heap and wakes the goroutine if w's deadline (or
// its context to poll) is due before it would wake. Called with mu held.
func (d *watchdog) push(w *watch) {
	w.index = len(d.heap)
	d.heap = append(d.heap, w)
	d.up(w.index)
	due := w.when
	if w.ctx != nil {
		d.polled++
		if p := monoNow() + int64(cancelPoll); due == 0 || p < due {
			due = p
		}
	}
	if due != 0 && (d.next == 0 || due < d.next) {
		if !d.started {
			d.started = true
			go d.run()
		}
		d.next = due // the goroutine sets it again when it wakes
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

func (d *watchdog) remove(w *watch) {
	i := w.index
	last := len(d.heap) - 1
	if i != last {
		d.swap(i, last)
	}
	d.heap[last] = nil
	d.heap = d.heap[:last]
	if i != last {
		d.down(i)
		d.up(i)
	}
	w.index = -1
	if w.ctx != nil {
		d.polled--
	}
}

// less orders by deadline, with no deadline last.
func (d *watchdog) less(i, j int) bool {
	a, b := d.heap[i].when, d.heap[j].when
	return a != 0 && (b == 0 || a < b)
}

func (d *watchdog) swap(i, j int) {
	d.heap[i], d.heap[j] = d.heap[j], d.heap[i]
	d.heap[i].index, d.heap[j].index = i, j
}

func (d *watchdog) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !d.less(i, p) {
			return
		}
		d.swap(i, p)
		i = p
	}
}

func (d *watchdog) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(d.heap) {
			return
		}
		if c+1 < len(d.heap) && d.less(c+1, c) {
			c++
		}
		if !d.less(c, i) {
			return
		}
		d.swap(i, c)
		i = c
	}
}

// fire sets w's flag and takes it out of the heap. Called with mu held.
func (d *watchdog) fire(w *watch, why int) {
	w.fired = why
	w.flag.flag.Set(1)
	w.flag.countdown.Set(0)
	d.remove(w)
}

// expire fires what is due at now and returns when to wake next (0: when
// woken). Called with mu held.
func (d *watchdog) expire(now int64) int64 {
	for len(d.heap) > 0 && d.heap[0].when != 0 && d.heap[0].when <= now {
		d.fire(d.heap[0], firedDeadline)
	}
	next := int64(0)
	if d.polled > 0 {
		for i := 0; i < len(d.heap); {
			w := d.heap[i]
			if w.ctx != nil {
				if err := w.ctx.Err(); err != nil {
					why := firedCanceled
					if errors.Is(err, context.DeadlineExceeded) {
						why = firedDeadline
					}
					d.fire(w, why)
					continue // another watch is at i now
				}
			}
			i++
		}
		if d.polled > 0 {
			next = now + int64(cancelPoll)
		}
	}
	if len(d.heap) > 0 && d.heap[0].when != 0 && (next == 0 || d.heap[0].when < next) {
		next = d.heap[0].when
	}
	return next
}

// run is the watchdog's goroutine: one timer, set to the earliest
// deadline (or the next poll of a cancelable context).
func (d *watchdog) run() {
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		d.mu.Lock()
		d.next = d.expire(monoNow())
		next := d.next
		d.mu.Unlock()
		if next == 0 {
			<-d.wake
			continue
		}
		t.Reset(time.Duration(next - monoNow()))
		select {
		case <-t.C:
		case <-d.wake:
			t.Stop()
		}
	}
}

// nanosleep is the guest's WASI sleep (poll_oneoff's clock
// subscriptions, and so sleep() and nanosleep()): it waits for ns, for the
// deadline of what runs in the slot, or for its context, whichever ends
// first. At the deadline it ends the call (timeout; unavailable for a
// cancellation) instead of returning to the guest, so a sleeping guest is
// interrupted at once, with deadlines on or off. It runs on the call's
// goroutine, which holds the slot.
func (s *slot) nanosleep(ns int64) {
	if ns <= 0 {
		return
	}
	d, atDeadline := time.Duration(ns), false
	if s.watch.when != 0 { // written by this goroutine: no lock to read it
		if left := time.Duration(s.watch.when - monoNow()); left < d {
			d, atDeadline = max(left, 0), true
		}
	}
	var done <-chan struct{}
	if s.callCtx != nil {
		done = s.callCtx.Done()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		if atDeadline {
			panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded)) // wazero returns it as the call's error
		}
	case <-done:
		code := sys.ExitCodeContextCanceled
		if errors.Is(s.callCtx.Err(), context.DeadlineExceeded) {
			code = sys.ExitCodeDeadlineExceeded
		}
		panic(sys.NewExitError(code))
	}
}
