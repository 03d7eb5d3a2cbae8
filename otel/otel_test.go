package clawdotel_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
	clawdotel "github.com/clawd-go/clawd/otel"
)

func TestMain(m *testing.M) {
	isolate.Main() // the sandboxed plugin's child runs from this binary
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

var bg = context.Background()

// plugin writes root/name: lib as its entry and a plugin.toml with extra
// lines, granting network.relay.
func plugin(tb testing.TB, root, name, version, lib, extra string) {
	tb.Helper()
	dir := filepath.Join(root, name)
	require.NoError(tb, os.MkdirAll(dir, 0o755))
	data, err := os.ReadFile(lib)
	require.NoError(tb, err)
	entry := "lib" + name + cbuild.LibExt
	require.NoError(tb, os.WriteFile(filepath.Join(dir, entry), data, 0o644))
	require.NoError(tb, os.WriteFile(filepath.Join(dir, "plugin.toml"), fmt.Appendf(nil,
		"name = %q\nversion = %q\nentry = %q\ncapabilities = [\"network.relay\"]\n%s", name, version, entry, extra), 0o644))
}

func echo(tb testing.TB, name, version string) string {
	return cbuild.Plugin(tb, "echo", `-DECHO_NAME="`+name+`"`, `-DECHO_VERSION="`+version+`"`)
}

// rig is a host observed by the adapter over the SDK's in-memory exporters,
// with a sink that starts a span of its own for each event (and refuses
// the method "obs.refuse" with NotFound).
type rig struct {
	h      *host.Host
	obs    *clawdotel.Observer
	tp     *sdktrace.TracerProvider
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
}

func newRig(t *testing.T, opts ...host.Option) *rig {
	t.Helper()
	r := &rig{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	obs, err := clawdotel.New(clawdotel.WithTracerProvider(r.tp), clawdotel.WithMeterProvider(mp))
	r.obs = obs
	require.NoError(t, err)
	sinkTracer := r.tp.Tracer("sink")
	sink := clawd.SinkFunc(func(ctx context.Context, e clawd.Event) error {
		_, span := sinkTracer.Start(ctx, "sink "+e.Method)
		defer span.End()
		if e.Method == "obs.refuse" {
			return abi.NotFound
		}
		return nil
	})
	base := []host.Option{host.WithPluginOptions(clawd.WithLogger(zap.NewNop())), host.WithObserver(obs), host.WithPluginOptions(clawd.WithEventSink(sink))}
	r.h, err = host.New(append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { r.h.Close() })
	return r
}

// metrics collects every data point as "name{k=v,...}" -> value: the sum of
// a counter, the count of a histogram (its sum under name+".sum").
func (r *rig) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.reader.Collect(bg, &rm))
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		require.Equal(t, clawdotel.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+attrs(p.Attributes)] = float64(p.Value)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+attrs(p.Attributes)] = float64(p.Value)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[m.Name+attrs(p.Attributes)] = float64(p.Count)
					out[m.Name+".sum"+attrs(p.Attributes)] = p.Sum
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

func attrs(s attribute.Set) string {
	var kv []string
	for _, a := range s.ToSlice() {
		kv = append(kv, string(a.Key)+"="+a.Value.String())
	}
	sort.Strings(kv)
	return "{" + strings.Join(kv, ",") + "}"
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for _, a := range s.Attributes() {
		m[string(a.Key)] = a.Value.String()
	}
	return m
}

func eventLines(s sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, e := range s.Events() {
		out = append(out, e.Name+attrs(attribute.NewSet(e.Attributes...)))
	}
	return out
}

// Calls of a native plugin under the caller's span: a span each, its
// parent the caller's, with the plugin's events as span events, and the
// sink's spans its children; the metrics count exactly the calls, events,
// reloads and states.
func TestSpansAndMetrics(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"), "")
	r := newRig(t, host.WithPluginDirs(root))
	require.NoError(t, r.h.Load(bg))

	ctx, caller := r.tp.Tracer("caller").Start(bg, "caller")
	require.NoError(t, host.Errors(r.h.Call(ctx, clawd.ToolCall("s1", "grep", "{}"))))
	outs := r.h.Call(ctx, clawd.ToolCall("s1", "fail", "{}"))
	require.Error(t, outs[0].Err)
	require.NoError(t, host.Errors(r.h.Call(ctx, clawd.ToolCall("s1", "send:obs.refuse", `{"k":1}`))))
	caller.End()

	var calls []sdktrace.ReadOnlySpan
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range r.spans.Ended() {
		byID[s.SpanContext().SpanID()] = s
		if s.Name() == "clawd.plugin on_tool_call" {
			calls = append(calls, s)
		}
	}
	require.Len(t, calls, 3)
	for i, s := range calls {
		assert.Equal(t, caller.SpanContext().SpanID(), s.Parent().SpanID(), "call %d: a child of the caller's span", i)
		assert.Equal(t, caller.SpanContext().TraceID(), s.SpanContext().TraceID())
		assert.Equal(t, trace.SpanKindInternal, s.SpanKind())
	}
	want := func(code string) map[string]string {
		return map[string]string{"clawd.plugin.name": "alpha", "clawd.plugin.version": "1.0.0", "clawd.plugin.runtime": "native",
			"clawd.plugin.op": "on_tool_call", "clawd.plugin.hook": "false", "clawd.plugin.code": code}
	}
	assert.Equal(t, want("ok"), spanAttrs(calls[0]))
	assert.Equal(t, want("callback_error"), spanAttrs(calls[1]))
	assert.Equal(t, want("ok"), spanAttrs(calls[2]))
	assert.Equal(t, codes.Unset, calls[0].Status().Code)
	assert.Equal(t, codes.Error, calls[1].Status().Code)
	assert.Equal(t, outs[0].Err.Error(), calls[1].Status().Description)

	size := func(s sdktrace.ReadOnlySpan) string { // the size of echo's event, as the sink saw it
		for _, e := range s.Events() {
			if e.Name == "echo.on_tool_call" {
				return attrs(attribute.NewSet(e.Attributes...))
			}
		}
		return ""
	}
	assert.Equal(t, []string{"echo.on_tool_call" + size(calls[0])}, eventLines(calls[0]))
	assert.Equal(t, []string{"echo.on_tool_call" + size(calls[2]), "obs.refuse{clawd.event.refused=NotFound,clawd.event.size=7}"}, eventLines(calls[2]))
	assert.Regexp(t, `^\{clawd.event.size=[1-9][0-9]*\}$`, size(calls[0]))

	// The sink's spans: children of the call they ran in; on_load's event,
	// sent outside any call, is a root.
	var sinkParents []string
	for _, s := range r.spans.Ended() {
		if strings.HasPrefix(s.Name(), "sink ") {
			p := "root"
			if s.Parent().IsValid() {
				p = byID[s.Parent().SpanID()].Name()
				assert.Equal(t, caller.SpanContext().TraceID(), s.SpanContext().TraceID())
			}
			sinkParents = append(sinkParents, s.Name()+" <- "+p)
		}
	}
	assert.Equal(t, []string{
		"sink echo.on_load <- root",
		"sink echo.on_tool_call <- clawd.plugin on_tool_call",
		"sink echo.on_tool_call <- clawd.plugin on_tool_call",
		"sink echo.on_tool_call <- clawd.plugin on_tool_call",
		"sink obs.refuse <- clawd.plugin on_tool_call",
	}, sinkParents)

	// A reload of a new version, then the close.
	plugin(t, root, "alpha", "2.0.0", echo(t, "alpha", "2.0.0"), "")
	require.NoError(t, r.h.Reload("alpha"))
	got := r.metrics(t)
	lat := info(t, r.h, "alpha").Stats.Latency.Total.Seconds()
	assert.InDelta(t, lat, got["clawd.plugin.call.duration.sum{clawd.plugin.code=ok,clawd.plugin.name=alpha,clawd.plugin.op=on_tool_call}"]+
		got["clawd.plugin.call.duration.sum{clawd.plugin.code=callback_error,clawd.plugin.name=alpha,clawd.plugin.op=on_tool_call}"], 1e-9)
	delete(got, "clawd.plugin.call.duration.sum{clawd.plugin.code=ok,clawd.plugin.name=alpha,clawd.plugin.op=on_tool_call}")
	delete(got, "clawd.plugin.call.duration.sum{clawd.plugin.code=callback_error,clawd.plugin.name=alpha,clawd.plugin.op=on_tool_call}")
	assert.Equal(t, map[string]float64{
		"clawd.plugin.calls{clawd.plugin.code=ok,clawd.plugin.name=alpha,clawd.plugin.op=on_tool_call}":                     2,
		"clawd.plugin.calls{clawd.plugin.code=callback_error,clawd.plugin.name=alpha,clawd.plugin.op=on_tool_call}":         1,
		"clawd.plugin.call.duration{clawd.plugin.code=ok,clawd.plugin.name=alpha,clawd.plugin.op=on_tool_call}":             2,
		"clawd.plugin.call.duration{clawd.plugin.code=callback_error,clawd.plugin.name=alpha,clawd.plugin.op=on_tool_call}": 1,
		// on_load's (1.0.0, 2.0.0), on_unload's (1.0.0), one per call
		"clawd.plugin.events.sent{clawd.plugin.name=alpha}":                               6,
		"clawd.plugin.events.refused{clawd.plugin.code=NotFound,clawd.plugin.name=alpha}": 1,
		"clawd.plugin.reloads{clawd.plugin.code=ok,clawd.plugin.name=alpha}":              1,
		"clawd.plugins{clawd.plugin.state=active}":                                        1,
	}, got)

	require.NoError(t, r.h.Close())
	got = r.metrics(t)
	assert.Equal(t, 0.0, got["clawd.plugins{clawd.plugin.state=active}"])
	assert.Equal(t, 1.0, got["clawd.plugins{clawd.plugin.state=stopped}"])
}

func info(t *testing.T, h *host.Host, name string) host.PluginInfo {
	t.Helper()
	p, ok := h.Plugin(name)
	require.True(t, ok)
	return p
}

// A hook chain: each plugin's verdict on its span and in the verdicts
// counter; the plugin skipped after the block has no span.
func TestHookVerdicts(t *testing.T) {
	root := t.TempDir()
	lib := cbuild.Plugin(t, "hook")
	for _, n := range []string{"a", "b", "c"} {
		plugin(t, root, n, "1.0.0", lib, "hooks = [\"tool_call\"]\n")
	}
	r := newRig(t, host.WithPluginDirs(root))
	require.NoError(t, r.h.Load(bg))
	v, _ := r.h.Hook(bg, clawd.ToolCall("s", "IB", `{"n":0}`))
	require.Equal(t, clawd.Block, v.Kind)
	var got []string
	for _, s := range r.spans.Ended() {
		if s.Name() == "clawd.plugin on_tool_call" {
			a := spanAttrs(s)
			got = append(got, a["clawd.plugin.name"]+":"+a["clawd.plugin.verdict"]+":"+a["clawd.plugin.hook"])
			assert.Equal(t, []string{`hooktest.rc{clawd.event.size=14}`}, eventLines(s), "the hook event itself is a verdict, not an event")
		}
	}
	assert.Equal(t, []string{"a:intercept:true", "b:block:true"}, got)
	m := r.metrics(t)
	assert.Equal(t, 1.0, m["clawd.plugin.verdicts{clawd.plugin.name=a,clawd.plugin.verdict=intercept}"])
	assert.Equal(t, 1.0, m["clawd.plugin.verdicts{clawd.plugin.name=b,clawd.plugin.verdict=block}"])
	assert.Len(t, slices.DeleteFunc(slices.Collect(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}), func(k string) bool { return !strings.HasPrefix(k, "clawd.plugin.verdicts") }), 2)
}

// A sandboxed plugin whose child crashes: the call's span has status
// Error and code crashed; crashes and restarts count one each, and the
// plugin is back among the active ones.
func TestCrashAndRestart(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"), "sandbox = \"process\"\n")
	r := newRig(t, host.WithPluginDirs(root),
		host.WithPluginOptions(isolate.WithRestart(5, 10*time.Millisecond, time.Second)))
	tr, cancel := r.h.Subscribe()
	defer cancel()
	require.NoError(t, r.h.Load(bg))
	outs := r.h.Call(bg, clawd.ToolCall("s1", "crash", "{}"))
	require.Error(t, outs[0].Err)
	for t := range tr { // down, then up again; a restart that never comes fails at -timeout
		if t.From == host.StatusFailed && t.To == host.StatusActive {
			break
		}
	}
	var crashed sdktrace.ReadOnlySpan
	for _, s := range r.spans.Ended() {
		if s.Name() == "clawd.plugin on_tool_call" {
			crashed = s
		}
	}
	require.NotNil(t, crashed)
	assert.Equal(t, codes.Error, crashed.Status().Code)
	assert.Equal(t, "crashed", spanAttrs(crashed)["clawd.plugin.code"])
	assert.Equal(t, "process", spanAttrs(crashed)["clawd.plugin.runtime"])
	m := r.metrics(t)
	assert.Equal(t, 1.0, m["clawd.plugin.crashes{clawd.plugin.name=alpha}"])
	assert.Equal(t, 1.0, m["clawd.plugin.restarts{clawd.plugin.name=alpha}"])
	assert.Equal(t, 1.0, m["clawd.plugin.calls{clawd.plugin.code=crashed,clawd.plugin.name=alpha,clawd.plugin.op=on_tool_call}"])
	assert.Equal(t, 1.0, m["clawd.plugins{clawd.plugin.state=active}"])
	assert.Equal(t, 0.0, m["clawd.plugins{clawd.plugin.state=failed}"])
}

// WatchMemory reports a sandboxed plugin's child memory by name, where the
// kernel says (Linux), and leaves an in-process plugin out.
func TestWatchMemory(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"), "sandbox = \"process\"\n")
	plugin(t, root, "beta", "1.0.0", echo(t, "beta", "1.0.0"), "")
	r := newRig(t, host.WithPluginDirs(root))
	require.NoError(t, r.h.Load(bg))
	reg, err := r.obs.WatchMemory(r.h)
	require.NoError(t, err)
	m := r.metrics(t)
	if runtime.GOOS == "linux" {
		assert.Positive(t, m["clawd.plugin.memory.usage{clawd.plugin.name=alpha}"])
	}
	_, ok := m["clawd.plugin.memory.usage{clawd.plugin.name=beta}"]
	assert.False(t, ok, "a plugin in this process has no memory of its own")
	require.NoError(t, reg.Unregister())
	_, ok = r.metrics(t)["clawd.plugin.memory.usage{clawd.plugin.name=alpha}"]
	assert.False(t, ok, "unregistered")
}
