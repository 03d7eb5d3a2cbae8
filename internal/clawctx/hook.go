package clawctx

import (
	"context"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/boundary"
	"github.com/clawd-go/clawd/internal/hook"
	"github.com/clawd-go/clawd/internal/outcome"
	"github.com/clawd-go/clawd/internal/threadid"
)

// SetHook makes f the verdict state of the call this context serves (nil:
// none). A Hook call sets it after Begin and clears it before Release, so
// a plain call on the same context never sees a frame.
func (c *Slot) SetHook(f *hook.Frame) { c.ch.hook[c.i].Store(f) }

// hookEvent answers a hook event on a live context: to the Hook call's
// frame, or, for a binding that forwards hooks (a sandbox child, whose host
// decides and counts), to the sink as it is.
func (b *Binding) hookEvent(ctx context.Context, ch *chunk, i uint32, method, params uintptr) abi.Code {
	m, p, code := boundary.ReadHook(&b.counts, b.log, mem, uint64(method), uint64(params))
	if code != abi.None {
		return code
	}
	if b.forwardHooks {
		return outcome.Deliver(ctx, b.sink, clawd.Event{Plugin: b.name, Version: b.version, Method: m, Params: append([]byte(nil), p...)},
			func(any) { b.counts.Panics.Add(1) })
	}
	return boundary.Verdict(&b.counts, b.log, ch.hook[i%chunkLen].Load(), m, p, threadid.Current())
}
