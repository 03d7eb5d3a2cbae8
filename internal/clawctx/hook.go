package clawctx

import (
	"context"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/foreign"
	"github.com/clawd-go/clawd/internal/hook"
	"github.com/clawd-go/clawd/internal/outcome"
	"github.com/clawd-go/clawd/internal/threadid"
)

// SetHook makes f the verdict state of the call this context serves (nil:
// none). A Hook call sets it after Begin and clears it before Release, so
// a plain call on the same context never sees a frame.
func (c *Slot) SetHook(f *hook.Frame) { c.ch.hook[c.i].Store(f) }

// isHookMethod reports whether the NUL-terminated method at addr starts
// with hook.Prefix, without copying it.
func isHookMethod(addr uintptr) bool {
	if addr == 0 {
		return false
	}
	n := foreign.Strlen(addr, MaxMethod)
	return n >= len(hook.Prefix) && hook.Reserved(foreign.Bytes(addr, len(hook.Prefix)))
}

// hookEvent answers a hook event on a live context: to the Hook call's
// frame, or, for a binding that forwards hooks (a sandbox child, whose host
// decides), to the sink as it is. Every path is counted.
func (b *Binding) hookEvent(ctx context.Context, ch *chunk, i uint32, method, params uintptr) abi.Code {
	code := b.takeHook(ctx, ch, i, method, params)
	switch {
	case b.forwardHooks: // the host counts what it takes and refuses
	case code == abi.None:
		b.hookTaken.Add(1)
	default:
		b.hookRefused.Add(1)
	}
	return code
}

func (b *Binding) takeHook(ctx context.Context, ch *chunk, i uint32, method, params uintptr) abi.Code {
	m, err := foreign.String(method, MaxMethod)
	if err != nil {
		b.invalid.Add(1)
		b.hookInvalid.Add(1)
		return abi.DaemonError
	}
	p, err := foreign.String(params, MaxParams)
	if err != nil {
		b.hookInvalid.Add(1)
		return b.badArg("params_json", err)
	}
	if b.forwardHooks {
		return outcome.Deliver(ctx, b.sink, clawd.Event{Plugin: b.name, Version: b.version, Method: m, Params: []byte(p)},
			func(any) { b.panics.Add(1) })
	}
	code, invalid, err := ch.hook[i%chunkLen].Load().Take(m, []byte(p), threadid.Current())
	if invalid {
		b.invalid.Add(1)
		b.hookInvalid.Add(1)
		b.log.Warn("hook event refused: invalid payload", zap.String("method", m), zap.Error(err))
	}
	return code
}
