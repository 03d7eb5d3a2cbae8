package host

import (
	"context"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/clock"
	"github.com/clawd-go/clawd/internal/outcome"
)

// Observer is told of every call the host makes into a plugin through a
// dispatch (ToolCall, Message, the session calls, DispatchInto and the
// hook chains). It is the host's one hook for tracing and metrics: it
// needs no library, and an adapter (the module github.com/clawd-go/clawd/otel
// for OpenTelemetry) turns what it is told into spans and metrics.
//
// An observer may also implement EventObserver and StateObserver; the host
// finds them by type assertion when the option is applied.
//
// Its methods run on the dispatching goroutine (or the one a fanned-out
// call runs on), concurrently for concurrent calls: they must be safe for
// concurrent use and quick, since the dispatch waits for them. The info
// values are copies: an observer may keep them.
//
// With an observer set every native plugin is called on its own, not in a
// batch (the batch makes one crossing for several plugins, so no call of
// it could run with a context of its own); BenchmarkDispatch measures it.
type Observer interface {
	// CallStart is called just before the call. The context it returns
	// is the one the call runs with: the plugin's events reach the sink
	// with it, so a span started here is the parent of whatever the sink
	// does. Return ctx to add nothing; nil means ctx.
	CallStart(ctx context.Context, c CallInfo) context.Context
	// CallEnd is called once the call returned, with the context CallStart
	// returned, before the outcome is handed back.
	CallEnd(ctx context.Context, c CallInfo, r CallResult)
}

// EventObserver is the optional part of an Observer told of the events
// plugins send to the host's sink.
type EventObserver interface {
	// Event is called once the sink answered an event, with the context
	// it ran with (that of the call the event was sent from, or
	// context.Background for one sent from a plugin's own thread), and
	// for an event the native or wasm runtime refused before the sink (no
	// network.relay, a malformed method or params: Method "" and Size 0,
	// as the host does not read a refused event, and Refused its code).
	// Events the process sandbox's child refuses on its side, refused as
	// nested too deep, or sent on a context whose call returned, are
	// counted in PluginInfo.Stats.Context only.
	Event(ctx context.Context, e EventInfo)
}

// StateObserver is the optional part of an Observer told of each change
// of a plugin's life: loaded, reloaded (or not), crashed, restarted,
// failed, closed.
type StateObserver interface {
	// StateChange runs with the host's registry locked, in the order the
	// changes happen: it must return quickly and must not call the Host's
	// methods (it would wait for itself). It is told before the
	// subscribers (Subscribe) are.
	StateChange(s StateInfo)
}

// CallInfo names one call into a plugin.
type CallInfo struct {
	Plugin  string   // the plugin's name in the host
	Version string   // of the instance that takes the call
	Runtime string   // clawd.RuntimeNative, RuntimeProcess or RuntimeWasm
	Op      clawd.Op // Op.Callback names it ("on_tool_call")
	Hook    bool     // made by a hook chain (Host.Hook)
}

// CallResult is what one call did.
type CallResult struct {
	Duration time.Duration // as counted in Stats.Latency
	Err      error         // as in Outcome.Err
	Code     clawerr.Code  // Err's code; "" when the call succeeded
	// Verdict is the plugin's own verdict in a hook chain: Continue for
	// one that gave none or failed, and for every call outside a chain.
	Verdict clawd.VerdictKind
}

// EventInfo is one event a plugin sent.
type EventInfo struct {
	Plugin  string
	Version string
	Runtime string
	Method  string // "" for an event the runtime refused before the sink
	Size    int    // of the params, in bytes
	// Refused is the code the plugin's send_event returned: abi.None when
	// the sink accepted the event.
	Refused abi.Code
}

// Change is a kind of change in a plugin's life, as a StateObserver sees it.
type Change uint8

// The changes. A plugin's first load is ChangeLoaded (or ChangeFailed); a
// sandboxed plugin whose child died is ChangeCrashed, then ChangeRestarted
// once a new child serves, or ChangeFailed once restarts are given up.
const (
	ChangeLoaded       Change = iota + 1 // active: the library is open and on_load succeeded
	ChangeReloaded                       // a new version was swapped in
	ChangeReloadFailed                   // a reload failed: the old version keeps serving
	ChangeCrashed                        // the sandbox child died or was killed
	ChangeRestarted                      // a new sandbox child serves after a crash
	ChangeFailed                         // could not be loaded, or the sandbox gave up restarting
	ChangeClosed                         // stopped: on_unload ran, or the directory is gone
)

var changeNames = [...]string{"", "loaded", "reloaded", "reload_failed", "crashed", "restarted", "failed", "closed"}

func (c Change) String() string {
	if int(c) < len(changeNames) && c != 0 {
		return changeNames[c]
	}
	return "change(" + strconv.Itoa(int(c)) + ")"
}

// StateInfo is one change in a plugin's life.
type StateInfo struct {
	Plugin   string
	Version  string // serving after the change, as in Transition
	Runtime  string // "" when the plugin never opened
	Change   Change
	From, To Status
	Err      error        // why, for a failure, a crash or a failed reload; else nil
	Code     clawerr.Code // Err's code
}

// WithObserver sets the observer told of every call, and, if it
// implements them, of every event (EventObserver) and state change
// (StateObserver). Default: none, and then a dispatch pays nothing for it.
func WithObserver(ob Observer) Option {
	return optionFunc(func(o *options) {
		o.obs = ob
		o.events, _ = ob.(EventObserver)
		o.states, _ = ob.(StateObserver)
	})
}

// observed makes one call on a picked instance with the observer told of
// its start and end, counts it and releases the reference.
func (in *instance) observed(h *Host, ob Observer, ctx context.Context, c clawd.Call) Outcome {
	defer in.release() // after CallEnd: a close waits for it, so no "closed" comes before the end of a call
	ci := in.callInfo(c.Op, false)
	if octx := ob.CallStart(ctx, ci); octx != nil {
		ctx = octx
	}
	start := clock.Mono()
	err := in.p.Call(ctx, c)
	d := clock.Mono() - start
	o := in.outcome(h, err, d)
	ob.CallEnd(ctx, ci, callResult(err, d, clawd.Continue))
	return o
}

func (in *instance) callInfo(op clawd.Op, hook bool) CallInfo {
	return CallInfo{Plugin: in.e.name, Version: in.version, Runtime: in.runtime, Op: op, Hook: hook}
}

func callResult(err error, d time.Duration, v clawd.VerdictKind) CallResult {
	r := CallResult{Duration: d, Err: err, Verdict: v}
	if err != nil {
		r.Code = codeOf(err)
	}
	return r
}

// observingSink is the sink of one plugin when an EventObserver is set:
// the plugin's sink (sinkFor's) with the observer told of each answer,
// a panic of the sink's included (refused as the runtimes refuse it).
func (h *Host) observingSink(name, runtime string, eo EventObserver) clawd.Sink {
	return &observingSink{h: h, name: name, runtime: runtime, eo: eo}
}

// observingSink is the sink a plugin gets while an EventObserver is set:
// it tells the observer of each event it delivers, and, as a
// boundary.Refusals, of each the runtime refused before it (method and
// size unread: the refusal's code only).
type observingSink struct {
	h             *Host
	name, runtime string
	eo            EventObserver
}

func (o *observingSink) Deliver(ctx context.Context, ev clawd.Event) error {
	ev.Plugin = o.name
	info := EventInfo{Plugin: o.name, Version: ev.Version, Runtime: o.runtime, Method: ev.Method, Size: len(ev.Params), Refused: abi.DaemonError}
	defer func() { o.eo.Event(ctx, info) }()
	s := o.h.o.sink
	if s == nil { // what the runtimes do without a sink
		o.h.log.Warn("send_event refused: the host has no event sink", zap.String("plugin", o.name), zap.String("method", ev.Method))
		return abi.DaemonError
	}
	err := s.Deliver(ctx, ev)
	info.Refused = outcome.SinkCode(err)
	return err
}

func (o *observingSink) Refused(ctx context.Context, code abi.Code) {
	o.eo.Event(ctx, EventInfo{Plugin: o.name, Runtime: o.runtime, Refused: code})
}

// observeState tells the state observer of e's move from from to to.
// Called with mu held, by transition.
func (h *Host) observeState(e *entry, from, to Status, reason error, reload, crashed bool) {
	var c Change
	switch {
	case reload && reason == nil:
		c = ChangeReloaded
	case reload:
		c = ChangeReloadFailed
	case crashed:
		c = ChangeCrashed
	case to == StatusActive && from == StatusFailed:
		c = ChangeRestarted
	case to == StatusActive:
		c = ChangeLoaded
	case to == StatusFailed:
		c = ChangeFailed
	case to == StatusStopped:
		c = ChangeClosed
	default:
		return // resolved, loaded: steps of a load, which ends active or failed
	}
	s := StateInfo{Plugin: e.name, Version: e.version, Runtime: e.runtime, Change: c, From: from, To: to, Err: reason}
	if reason != nil {
		s.Code = clawerr.CodeOf(reason)
	}
	h.o.states.StateChange(s)
}
