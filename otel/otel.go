// Package clawdotel turns what a clawd-go host observes into OpenTelemetry
// traces and metrics: a span per plugin call, child of the caller's span,
// with the plugin's events as span events, and the counters and histogram
// listed below. It is a module of its own, so that the library never
// depends on OpenTelemetry; it uses the OpenTelemetry API only, and the
// program brings the SDK and the exporters.
//
//	obs, err := clawdotel.New() // the global tracer and meter providers
//	h, err := host.New(host.WithObserver(obs), ...)
//
// Each call into a plugin through a dispatch is a span named
// "clawd.plugin <callback>" ("clawd.plugin on_tool_call"), of kind
// internal, with the attributes clawd.plugin.name, clawd.plugin.version,
// clawd.plugin.runtime, clawd.plugin.op, clawd.plugin.code ("ok" or the
// clawerr code) and, in a hook chain, clawd.plugin.verdict. A failed call
// (a crash included) has status Error with the error's text. Each event the
// plugin sends during the call is a span event named after its method, with
// clawd.event.size and, if refused, clawd.event.refused. The context the
// call runs with carries the span, so the event sink's own spans are its
// children.
//
// Metrics (the meter "github.com/clawd-go/clawd/otel"):
//
//	clawd.plugin.calls           counter   {call}   name, op, code
//	clawd.plugin.call.duration   histogram s        name, op, code
//	clawd.plugin.verdicts        counter   {verdict} name, verdict
//	clawd.plugin.events.sent     counter   {event}  name
//	clawd.plugin.events.refused  counter   {event}  name, code (the abi code)
//	clawd.plugin.crashes         counter   {crash}  name
//	clawd.plugin.restarts        counter   {restart} name
//	clawd.plugin.reloads         counter   {reload} name, code ("ok" or why it failed)
//	clawd.plugins                up-down   {plugin} state
//	clawd.plugin.memory.usage    gauge     By       name (WatchMemory)
//
// The event method is a span event's name, never a metric attribute: a
// plugin chooses it, and a metric's cardinality must not be the plugin's to
// choose.
package clawdotel

import (
	"context"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
)

// ScopeName is the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/clawd-go/clawd/otel"

// The attribute keys.
const (
	KeyName    = attribute.Key("clawd.plugin.name")
	KeyVersion = attribute.Key("clawd.plugin.version")
	KeyRuntime = attribute.Key("clawd.plugin.runtime")
	KeyOp      = attribute.Key("clawd.plugin.op")
	KeyHook    = attribute.Key("clawd.plugin.hook")
	KeyCode    = attribute.Key("clawd.plugin.code")
	KeyVerdict = attribute.Key("clawd.plugin.verdict")
	KeyState   = attribute.Key("clawd.plugin.state")
	KeySize    = attribute.Key("clawd.event.size")
	KeyRefused = attribute.Key("clawd.event.refused")
)

// CodeOK is the code attribute of a call or a reload that succeeded.
const CodeOK = "ok"

// Option configures New; the With* functions make them.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider sets where the spans go. Default: the global one
// (otel.GetTracerProvider), read when New runs.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	})
}

// WithMeterProvider sets where the metrics go. Default: the global one
// (otel.GetMeterProvider), read when New runs.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	})
}

// Observer is a host.Observer (with host.EventObserver and
// host.StateObserver) that records spans and metrics. Give it to one host
// with host.WithObserver; it is safe for concurrent use.
type Observer struct {
	tracer trace.Tracer

	calls, verdicts, sent, refused, crashes, restarts, reloads metric.Int64Counter
	duration                                                   metric.Float64Histogram
	plugins                                                    metric.Int64UpDownCounter
	memory                                                     metric.Int64ObservableGauge
	meter                                                      metric.Meter

	// Attribute sets and span options are made once per plugin, op and
	// code, so that a call allocates no attributes of its own.
	mu     sync.RWMutex
	starts map[startKey][]trace.SpanStartOption
	ends   map[endKey]endAttrs
	states map[string]host.Status // the state each plugin was last counted in
}

type startKey struct {
	plugin, version, runtime string
	op                       clawd.Op
	hook                     bool
}

type endKey struct {
	plugin  string
	op      clawd.Op
	code    clawerr.Code
	verdict clawd.VerdictKind
}

// endAttrs are a call's end attributes, the options as the variadic
// slices the instruments take (a slice made per call would be allocated).
type endAttrs struct {
	attrs   []attribute.KeyValue  // set on the span
	add     []metric.AddOption    // name, op, code
	record  []metric.RecordOption // the same
	verdict []metric.AddOption    // name, verdict (hook calls only)
}

// maxCached bounds each cache: beyond it (a host with thousands of plugin
// versions) attributes are made per call instead.
const maxCached = 4096

// durationBounds are the histogram's buckets, in seconds: the host's own
// decades (host.Latency), 1us to 10s.
var durationBounds = []float64{1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10}

// New returns an observer recording through the providers the options
// give, the global ones by default.
func New(opts ...Option) (*Observer, error) {
	c := config{tp: otel.GetTracerProvider(), mp: otel.GetMeterProvider()}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	m := c.mp.Meter(ScopeName)
	o := &Observer{
		tracer: c.tp.Tracer(ScopeName),
		meter:  m,
		starts: make(map[startKey][]trace.SpanStartOption),
		ends:   make(map[endKey]endAttrs),
		states: make(map[string]host.Status),
	}
	var err error
	counter := func(dst *metric.Int64Counter, name, unit, desc string) {
		if err == nil {
			*dst, err = m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		}
	}
	counter(&o.calls, "clawd.plugin.calls", "{call}", "Calls into plugins, by plugin, op and outcome code.")
	counter(&o.verdicts, "clawd.plugin.verdicts", "{verdict}", "Verdicts plugins gave in hook chains, by kind.")
	counter(&o.sent, "clawd.plugin.events.sent", "{event}", "Events plugins sent that the sink accepted.")
	counter(&o.refused, "clawd.plugin.events.refused", "{event}", "Events plugins sent that were refused, by the code send_event returned.")
	counter(&o.crashes, "clawd.plugin.crashes", "{crash}", "Sandbox children that died or were killed.")
	counter(&o.restarts, "clawd.plugin.restarts", "{restart}", "Sandbox children started again after a crash.")
	counter(&o.reloads, "clawd.plugin.reloads", "{reload}", "Hot reloads, by code: ok, or why the old version kept serving.")
	if err == nil {
		o.duration, err = m.Float64Histogram("clawd.plugin.call.duration", metric.WithUnit("s"),
			metric.WithDescription("Duration of calls into plugins, as the host times them."),
			metric.WithExplicitBucketBoundaries(durationBounds...))
	}
	if err == nil {
		o.plugins, err = m.Int64UpDownCounter("clawd.plugins", metric.WithUnit("{plugin}"),
			metric.WithDescription("Plugins the host knows, by state."))
	}
	if err == nil {
		o.memory, err = m.Int64ObservableGauge("clawd.plugin.memory.usage", metric.WithUnit("By"),
			metric.WithDescription("Memory a sandboxed plugin's child holds of its own (Linux), by plugin; see WatchMemory."))
	}
	if err != nil {
		return nil, err
	}
	return o, nil
}

var opNames = func() (n [clawd.NumOps]string) {
	for op := range clawd.Op(clawd.NumOps) {
		n[op] = op.Callback().String()
	}
	return n
}()

var spanNames = func() (n [clawd.NumOps]string) {
	for op := range clawd.Op(clawd.NumOps) {
		n[op] = "clawd.plugin " + opNames[op]
	}
	return n
}()

func opName(op clawd.Op) string {
	if op < clawd.NumOps {
		return opNames[op]
	}
	return "op(" + strconv.Itoa(int(op)) + ")"
}

// CallStart starts the call's span, a child of ctx's.
func (o *Observer) CallStart(ctx context.Context, c host.CallInfo) context.Context {
	k := startKey{c.Plugin, c.Version, c.Runtime, c.Op, c.Hook}
	o.mu.RLock()
	opts, ok := o.starts[k]
	o.mu.RUnlock()
	if !ok {
		opts = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(
			KeyName.String(c.Plugin), KeyVersion.String(c.Version),
			KeyRuntime.String(c.Runtime), KeyOp.String(opName(c.Op)), KeyHook.Bool(c.Hook))}
		o.mu.Lock()
		if len(o.starts) < maxCached {
			o.starts[k] = opts
		}
		o.mu.Unlock()
	}
	var name string
	if c.Op < clawd.NumOps {
		name = spanNames[c.Op]
	} else {
		name = "clawd.plugin " + opName(c.Op)
	}
	ctx, _ = o.tracer.Start(ctx, name, opts...)
	return ctx
}

func codeAttr(c clawerr.Code) string {
	if c == "" {
		return CodeOK
	}
	return string(c)
}

// CallEnd ends the call's span and counts the call.
func (o *Observer) CallEnd(ctx context.Context, c host.CallInfo, r host.CallResult) {
	k := endKey{c.Plugin, c.Op, r.Code, r.Verdict}
	if !c.Hook {
		k.verdict = 0
	}
	o.mu.RLock()
	a, ok := o.ends[k]
	o.mu.RUnlock()
	if !ok {
		code := KeyCode.String(codeAttr(r.Code))
		a.attrs = []attribute.KeyValue{code}
		if c.Hook {
			a.attrs = append(a.attrs, KeyVerdict.String(r.Verdict.String()))
			a.verdict = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(KeyName.String(c.Plugin), KeyVerdict.String(r.Verdict.String())))}
		}
		set := metric.WithAttributeSet(attribute.NewSet(KeyName.String(c.Plugin), KeyOp.String(opName(c.Op)), code))
		a.add, a.record = []metric.AddOption{set}, []metric.RecordOption{set}
		o.mu.Lock()
		if len(o.ends) < maxCached {
			o.ends[k] = a
		}
		o.mu.Unlock()
	}
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		span.SetAttributes(a.attrs...)
		if r.Err != nil {
			span.SetStatus(codes.Error, r.Err.Error())
		}
	}
	span.End()
	o.calls.Add(ctx, 1, a.add...)
	o.duration.Record(ctx, r.Duration.Seconds(), a.record...)
	if c.Hook && r.Err == nil {
		o.verdicts.Add(ctx, 1, a.verdict...)
	}
}

// Event adds the event to the call's span and counts it.
func (o *Observer) Event(ctx context.Context, e host.EventInfo) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		if e.Method == "" { // refused before the sink: the method was not read
			span.AddEvent("clawd.event.refused", trace.WithAttributes(KeyRefused.String(e.Refused.String())))
		} else if e.Refused == abi.None {
			span.AddEvent(e.Method, trace.WithAttributes(KeySize.Int(e.Size)))
		} else {
			span.AddEvent(e.Method, trace.WithAttributes(KeySize.Int(e.Size), KeyRefused.String(e.Refused.String())))
		}
	}
	if e.Refused == abi.None {
		o.sent.Add(ctx, 1, metric.WithAttributes(KeyName.String(e.Plugin)))
	} else {
		o.refused.Add(ctx, 1, metric.WithAttributes(KeyName.String(e.Plugin), KeyCode.String(e.Refused.String())))
	}
}

// StateChange counts crashes, restarts and reloads, and moves the plugin
// between the states of clawd.plugins.
func (o *Observer) StateChange(s host.StateInfo) {
	ctx := context.Background()
	name := metric.WithAttributes(KeyName.String(s.Plugin))
	switch s.Change {
	case host.ChangeCrashed:
		o.crashes.Add(ctx, 1, name)
	case host.ChangeRestarted:
		o.restarts.Add(ctx, 1, name)
	case host.ChangeReloaded, host.ChangeReloadFailed:
		o.reloads.Add(ctx, 1, metric.WithAttributes(KeyName.String(s.Plugin), KeyCode.String(codeAttr(s.Code))))
	}
	o.mu.Lock()
	prev, known := o.states[s.Plugin]
	o.states[s.Plugin] = s.To
	o.mu.Unlock()
	if known && prev == s.To {
		return
	}
	if known {
		o.plugins.Add(ctx, -1, metric.WithAttributes(KeyState.String(prev.String())))
	}
	o.plugins.Add(ctx, 1, metric.WithAttributes(KeyState.String(s.To.String())))
}

var (
	_ host.Observer      = (*Observer)(nil)
	_ host.EventObserver = (*Observer)(nil)
	_ host.StateObserver = (*Observer)(nil)
)

// WatchMemory reports the memory of h's sandboxed plugins as the
// observable gauge clawd.plugin.memory.usage (bytes, by clawd.plugin.name):
// each sandbox child's own pages, where the kernel says (Linux), read from
// h.Plugins() at each collection. Plugins whose memory is not known (in
// process, wasm, other systems) are left out. Call it once per host, after
// host.New; unregister the result before closing the host.
func (o *Observer) WatchMemory(h *host.Host) (metric.Registration, error) {
	return o.meter.RegisterCallback(func(_ context.Context, r metric.Observer) error {
		for _, p := range h.Plugins() {
			if p.Memory > 0 {
				r.ObserveInt64(o.memory, int64(min(p.Memory, 1<<62)), metric.WithAttributes(KeyName.String(p.Name)))
			}
		}
		return nil
	}, o.memory)
}
