package wasm

import (
	"context"
	"sync"

	"github.com/tetratelabs/wazero/api"

	"github.com/clawd-go/clawd/internal/hook"
	"github.com/clawd-go/clawd/internal/reentry"
)

// slot is the place of one instance: its lock (one call at a time, or a
// sink's call nested on the same thread), the instance, and the state of
// the call running in it. A serialized plugin has one slot; a concurrent
// one has a pool of them (WithPoolSize), whose instances are made when a
// call first needs them. A fault discards only its slot's instance.
type slot struct {
	owner *reentry.Owner
	lock  *reentry.Mutex

	// Guarded by lock (the guest only runs inside a call that holds it,
	// or nested below one on the same goroutine):
	inst   *instance        // nil: not made yet, or its remaking failed (Plugin.failed)
	depth  int              // calls in progress in inst, nested ones included
	active [maxDepth]uint32 // the live contexts, outermost first
	broken bool             // a nested call faulted: replace inst when the outermost returns
	inGlue bool             // the guest's allocator runs: no context is live
	closed bool             // Close has been here: calls are refused

	stdout, stderr *lineLog // the guest's output, as log lines: each instance's own

	// callCtx is the context of what runs in the instance now (a call, or
	// the load): the guest's WASI sleeps and clock polls wait on it.
	callCtx context.Context
	// watch arms the deadline of what runs in inst (deadline.go).
	watch watch

	// hookFrame is the verdict state of the Hook call in flight, made at
	// call depth hookDepth (its context is active[hookDepth]); nil when none.
	hookFrame *hook.Frame
	hookDepth int
}

func newSlot(name string) *slot {
	o := &reentry.Owner{Name: name}
	return &slot{owner: o, lock: reentry.NewMutex(o), watch: watch{index: -1}}
}

// live reports whether ctxAddr is the context of a call in progress in
// this slot's instance. The guest runs only inside a call that holds the
// slot (or nested below one), so the record it reads is that call's.
func (s *slot) live(ctxAddr uint32) bool {
	if ctxAddr == 0 || s.inGlue {
		return false
	}
	for i := 0; i < s.depth; i++ {
		if s.active[i] == ctxAddr {
			return true
		}
	}
	return false
}

// pool is a concurrent plugin's slots and which of them are free.
type pool struct {
	free chan *slot
	mods sync.Map // api.Module -> *slot: which slot a host function serves
}

// acquire returns the slot a call runs in, locked: for a call made from a
// sink of this plugin, the slot whose guest sent the event (the call nests
// on that instance, reentered); otherwise the only slot, or a free one of
// the pool, waiting for one until ctx is done.
func (p *plugin) acquire(ctx context.Context) (s *slot, reentered bool, err error) {
	if p.pool == nil {
		s = p.slots[0]
		reentered, err = s.lock.Lock()
		return s, reentered, err
	}
	if reentry.Nested() {
		for _, s := range p.slots {
			if reentry.Inside(s.owner) {
				reentered, err = s.lock.Lock()
				return s, reentered, err
			}
		}
	}
	select {
	case s = <-p.pool.free:
	default:
		select {
		case s = <-p.pool.free:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	if reentered, err = s.lock.Lock(); err != nil {
		p.pool.free <- s
		return nil, false, err
	}
	return s, reentered, nil
}

// release ends a call that acquire admitted.
func (p *plugin) release(s *slot, reentered bool) {
	if reentered {
		return
	}
	s.lock.Unlock()
	if p.pool != nil {
		p.pool.free <- s
	}
}

// slotOf is the slot whose instance mod is, for a host function; nil if
// none (a module being made or already discarded: no context is live).
func (p *plugin) slotOf(mod api.Module) *slot {
	if p.pool == nil {
		return p.slots[0]
	}
	if v, ok := p.pool.mods.Load(mod); ok {
		return v.(*slot)
	}
	return nil
}

// track records which slot in serves (pool only); untrack and close the
// module when it is discarded.
func (p *plugin) track(s *slot, in *instance) {
	if p.pool != nil {
		p.pool.mods.Store(in.mod, s)
	}
}

func (p *plugin) discard(in *instance) {
	if p.pool != nil {
		p.pool.mods.Delete(in.mod)
	}
	_ = in.mod.Close(context.Background())
	// The instance's call has returned (or it never ran one): its
	// guest has stopped, so its memory may go.
	p.mems.release(in.res)
}
