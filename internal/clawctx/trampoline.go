package clawctx

import (
	"context"
	"encoding/json"
	"sync/atomic"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/boundary"
	"github.com/clawd-go/clawd/internal/foreign"
)

// The trampolines' addresses, set once per process by the build's glue
// (cgo //export functions, or purego callbacks).
var logFn, sendEventFn uintptr

// Trampolines returns the addresses of log and send_event that every
// context carries: the same two for the life of the process.
func Trampolines() [2]uintptr { return [2]uintptr{logFn, sendEventFn} }

var invalidContexts atomic.Uint64

// InvalidContexts counts log and send_event calls whose context was NULL or
// not one the host made; they cannot be attributed to any plugin.
func InvalidContexts() uint64 { return invalidContexts.Load() }

// mem is the plugin's memory: this process's (the rules in boundary read
// it).
var mem foreign.Memory

// hostLog is ClawaContext.log. It must not panic: it may run on a plugin's
// own thread, where a Go panic ends the process.
func hostLog(ctxAddr uintptr, level uint8, msg uintptr) {
	ch, _, live, ok := resolve(ctxAddr)
	if !ok {
		invalidContexts.Add(1)
		return
	}
	b := ch.b
	if !live {
		b.counts.StaleLogs.Add(1)
		return
	}
	defer func() {
		if r := recover(); r != nil {
			b.counts.Panics.Add(1)
		}
	}()
	boundary.Log(&b.counts, b.log, mem, uint32(level), uint64(msg))
}

// callerUnknown: the build cannot tell the calling thread cheaply; compare
// the thread Begin noted (noteCaller).
const callerUnknown = -1

// hostSendEvent is ClawaContext.send_event. Every path returns a code the
// plugin sees; none panics.
//
// onCaller is 1 when send_event runs on the thread of the call that owns
// the context, 0 on another, callerUnknown to be found out here. Only the
// calling thread gets the call's context.Context: it was written there, so
// reading it races with nothing; a plugin's own thread gets Background.
func hostSendEvent(ctxAddr, method, params uintptr, onCaller int8) (code int32) {
	ch, i, live, ok := resolve(ctxAddr)
	if !ok {
		invalidContexts.Add(1)
		return int32(abi.DaemonError)
	}
	b := ch.b
	if !live {
		return int32(boundary.StaleEvent(&b.counts, mem, uint64(method)))
	}
	defer func() {
		if r := recover(); r != nil {
			b.counts.Panics.Add(1)
			b.counts.Refused.Add(1)
			code = int32(abi.DaemonError)
		}
	}()
	ctx := context.Background()
	caller := onCaller == 1 || (onCaller == callerUnknown && ch.isCaller(i))
	if caller {
		ctx = ch.callCtx(i)
	}
	if boundary.IsHook(mem, uint64(method)) { // the host's, never the sink's (hook.go)
		return int32(b.hookEvent(ctx, ch, i, method, params))
	}
	m, p, c := boundary.ReadEvent(&b.counts, b.log, b.relay, mem, uint64(method), uint64(params))
	if c != abi.None {
		boundary.Refused(ctx, b.sink, c)
		return int32(b.counts.Event(c))
	}
	if caller { // the sink may call back into the plugin: that call is then the one in flight
		f := ch.hook[i%chunkLen].Load()
		f.Away()
		defer f.Back()
	}
	ev := clawd.Event{Plugin: b.name, Version: b.version, Method: m, Params: json.RawMessage(append([]byte(nil), p...))} // copied: the plugin owns p
	return int32(b.counts.Event(boundary.Deliver(ctx, &b.counts, b.log, b.sink, b.owner, ev)))
}
