package host_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
	"github.com/clawd-go/clawd/manifest"
)

type markKey struct{}

// recorder is an observer that writes what it is told as lines, in order,
// and puts a marker of its own in each call's context ("alpha#3").
type recorder struct {
	n atomic.Int64

	mu     sync.Mutex
	lines  []string
	events []host.EventInfo
	total  map[string]time.Duration // CallResult.Duration summed by plugin
	marks  map[string][]string      // by plugin: the marker CallEnd saw, per call
	seen   map[string][]string      // by plugin: the marker Event saw, per event
	states chan host.StateInfo      // every change, for a test to wait on
}

func newRecorder() *recorder {
	return &recorder{total: map[string]time.Duration{}, marks: map[string][]string{}, seen: map[string][]string{},
		states: make(chan host.StateInfo, 100)}
}

func (r *recorder) add(l string) {
	r.mu.Lock()
	r.lines = append(r.lines, l)
	r.mu.Unlock()
}

func mark(ctx context.Context) string {
	m, _ := ctx.Value(markKey{}).(string)
	return m
}

func (r *recorder) CallStart(ctx context.Context, c host.CallInfo) context.Context {
	l := fmt.Sprintf("start %s %s %s %s", c.Plugin, c.Version, c.Runtime, c.Op.Callback())
	if c.Hook {
		l += " hook"
	}
	r.add(l)
	return context.WithValue(ctx, markKey{}, fmt.Sprintf("%s#%d", c.Plugin, r.n.Add(1)))
}

func (r *recorder) CallEnd(ctx context.Context, c host.CallInfo, res host.CallResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf("end %s %s code=%s verdict=%s", c.Plugin, c.Op.Callback(), res.Code, res.Verdict))
	r.total[c.Plugin] += res.Duration
	r.marks[c.Plugin] = append(r.marks[c.Plugin], mark(ctx))
	if res.Code != clawerr.CodeOf(res.Err) {
		r.lines = append(r.lines, fmt.Sprintf("code %q of error %v", res.Code, res.Err))
	}
}

func (r *recorder) Event(ctx context.Context, e host.EventInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf("event %s %s %s refused=%s", e.Plugin, e.Runtime, e.Method, e.Refused.String()))
	r.events = append(r.events, e)
	r.seen[e.Plugin] = append(r.seen[e.Plugin], mark(ctx))
}

func (r *recorder) StateChange(s host.StateInfo) {
	l := fmt.Sprintf("state %s %s %s %s->%s", s.Plugin, s.Version, s.Change, s.From, s.To)
	if s.Err != nil {
		l += " " + string(s.Code)
	}
	r.add(l)
	r.states <- s
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lines
	r.lines = nil
	return l
}

// sinkRec is a sink that keeps each event's params and the marker of the
// context it ran with, and refuses the method "obs.refuse" with NotFound.
type sinkRec struct {
	mu     sync.Mutex
	params []string
	marks  map[string][]string // by plugin
}

func (s *sinkRec) Deliver(ctx context.Context, e clawd.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params = append(s.params, string(e.Params))
	if s.marks == nil {
		s.marks = map[string][]string{}
	}
	s.marks[e.Plugin] = append(s.marks[e.Plugin], mark(ctx))
	if e.Method == "obs.refuse" {
		return abi.NotFound
	}
	return nil
}

func observedHost(t *testing.T, rec *recorder, sink clawd.Sink, opts ...host.Option) *host.Host {
	t.Helper()
	base := []host.Option{host.WithPluginOptions(clawd.WithLogger(zap.NewNop())), host.WithObserver(rec)}
	if sink != nil {
		base = append(base, host.WithPluginOptions(clawd.WithEventSink(sink)))
	}
	h, err := host.New(append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return h
}

// A known workload on one native plugin: every call, event and change is
// told once, in order, with its code.
func TestObserverSeesCallsEventsAndStates(t *testing.T) {
	root := t.TempDir()
	dir := plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"), "network.relay")
	rec, sink := newRecorder(), &sinkRec{}
	h := observedHost(t, rec, sink, host.WithPluginDirs(root))

	require.NoError(t, h.Load(bg))
	require.NoError(t, host.Errors(h.Call(bg, clawd.ToolCall("s1", "grep", "{}"))))
	outs := h.Call(bg, clawd.ToolCall("s1", "fail", "{}"))
	require.Equal(t, clawerr.CallbackError, clawerr.CodeOf(outs[0].Err))
	require.NoError(t, host.Errors(h.Call(bg, clawd.ToolCall("s1", "send:obs.refuse", `{"k":1}`))))
	require.NoError(t, host.Errors(h.Call(bg, clawd.SessionStart("s1"))))
	require.Equal(t, []string{
		"event alpha native echo.on_load refused=None", // from on_load: no call, no call's context
		"state alpha 1.0.0 loaded loaded->active",
		"start alpha 1.0.0 native on_tool_call",
		"event alpha native echo.on_tool_call refused=None",
		"end alpha on_tool_call code= verdict=continue",
		"start alpha 1.0.0 native on_tool_call",
		"event alpha native echo.on_tool_call refused=None",
		"end alpha on_tool_call code=callback_error verdict=continue",
		"start alpha 1.0.0 native on_tool_call",
		"event alpha native echo.on_tool_call refused=None",
		"event alpha native obs.refuse refused=NotFound",
		"end alpha on_tool_call code= verdict=continue",
		"start alpha 1.0.0 native on_session_start",
		"event alpha native echo.on_session_start refused=None",
		"end alpha on_session_start code= verdict=continue",
	}, rec.take())

	// Sizes are the params' as the sink got them; the durations are those
	// the host counts.
	rec.mu.Lock()
	require.Len(t, rec.events, len(sink.params))
	for i, e := range rec.events {
		assert.Equal(t, len(sink.params[i]), e.Size, e.Method)
	}
	assert.Equal(t, len(`{"k":1}`), rec.events[4].Size)
	total := rec.total["alpha"]
	rec.mu.Unlock()
	st := info(t, h, "alpha").Stats
	assert.Equal(t, st.Latency.Total, total)
	assert.Equal(t, uint64(4), st.Calls)
	assert.Equal(t, uint64(5), st.Context.EventsSent)
	assert.Equal(t, uint64(1), st.Context.EventsRefused)

	// A reload, a failed one, a call on the new version, the close.
	plugin(t, root, "alpha", "2.0.0", echo(t, "alpha", "2.0.0"), "network.relay")
	require.NoError(t, h.Reload("alpha"))
	writeFile(t, filepath.Join(dir, "plugin.toml"), []byte("name = \"alpha\"\nversion = \"3.0.0\"\nentry = \"nothing-here.so\"\n"))
	require.Equal(t, clawerr.OpenFailed, clawerr.CodeOf(h.Reload("alpha")))
	require.NoError(t, host.Errors(h.Call(bg, clawd.SessionEnd("s1"))))
	require.NoError(t, h.Close())
	require.Equal(t, []string{
		"event alpha native echo.on_load refused=None",   // 2.0.0's
		"event alpha native echo.on_unload refused=None", // 1.0.0's, retired
		"state alpha 2.0.0 reloaded active->active",
		"state alpha 2.0.0 reload_failed active->active open_failed",
		"start alpha 2.0.0 native on_session_end",
		"event alpha native echo.on_session_end refused=None",
		"end alpha on_session_end code= verdict=continue",
		"event alpha native echo.on_unload refused=None",
		"state alpha 2.0.0 closed active->stopped",
	}, rec.take())
}

// The verdict of each plugin in a hook chain is told at its call's end; a
// plugin skipped after a block is not called, so not told.
func TestObserverSeesVerdicts(t *testing.T) {
	root := t.TempDir()
	hookPlugins(t, root, `"tool_call"`, "a", "b", "c")
	rec := newRecorder()
	h := observedHost(t, rec, &sinkRec{}, host.WithPluginDirs(root))
	require.NoError(t, h.Load(bg))
	v, _ := h.Hook(bg, clawd.ToolCall("s", "IB", `{"n":0}`))
	require.Equal(t, clawd.Block, v.Kind)
	require.Equal(t, []string{
		"state a 1.0.0 loaded loaded->active",
		"state b 1.0.0 loaded loaded->active",
		"state c 1.0.0 loaded loaded->active",
		"start a 1.0.0 native on_tool_call hook",
		"event a native hooktest.rc refused=None",
		"end a on_tool_call code= verdict=intercept",
		"start b 1.0.0 native on_tool_call hook",
		"event b native hooktest.rc refused=None",
		"end b on_tool_call code= verdict=block",
	}, rec.take())
	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Equal(t, []string{"a#1"}, rec.seen["a"], "the hook call's context reached the sink")
	assert.Equal(t, []string{"b#2"}, rec.seen["b"])
}

// A sandboxed plugin whose child dies: the call ends crashed, the plugin
// is told crashed, then restarted once a new child serves.
func TestObserverSeesCrashAndRestart(t *testing.T) {
	root := t.TempDir()
	sandboxed(t, root, "alpha", echo(t, "alpha", "1.0.0"), "", "network.relay")
	rec := newRecorder()
	h := observedHost(t, rec, &sinkRec{}, host.WithPluginDirs(root),
		host.WithPluginOptions(isolate.WithRestart(5, 10*time.Millisecond, time.Second)))
	require.NoError(t, h.Load(bg))
	require.Equal(t, host.ChangeLoaded, (<-rec.states).Change)
	outs := h.Call(bg, clawd.ToolCall("s1", "crash", "{}"))
	require.Equal(t, clawerr.Crashed, clawerr.CodeOf(outs[0].Err))
	crash := <-rec.states
	require.Equal(t, host.ChangeCrashed, crash.Change)
	assert.Equal(t, clawerr.Crashed, crash.Code)
	assert.Equal(t, host.StatusFailed, crash.To)
	assert.Equal(t, clawd.RuntimeProcess, crash.Runtime)
	back := <-rec.states // the test binary's -timeout catches a restart that never comes
	require.Equal(t, host.ChangeRestarted, back.Change)
	assert.Equal(t, host.StatusActive, back.To)
	assert.Nil(t, back.Err)
	lines := rec.take()
	assert.Contains(t, lines, "end alpha on_tool_call code=crashed verdict=continue")
	assert.Equal(t, uint64(1), info(t, h, "alpha").Stats.Crashes)
}

// The context CallStart returns is the one the plugin's events reach the
// sink with, in every runtime, on the serial path and when calls are
// fanned out (threshold 0: from the third dispatch on, one of the two
// plugins runs on a goroutine of its own).
func TestObserverContextReachesSink(t *testing.T) {
	for _, rt := range []string{clawd.RuntimeNative, clawd.RuntimeProcess, clawd.RuntimeWasm} {
		t.Run(rt, func(t *testing.T) {
			root := t.TempDir()
			for _, n := range []string{"p1", "p2"} {
				switch rt {
				case clawd.RuntimeNative:
					plugin(t, root, n, "1.0.0", echo(t, n, "1.0.0"), "network.relay")
				case clawd.RuntimeProcess:
					sandboxed(t, root, n, echo(t, n, "1.0.0"), "", "network.relay")
				case clawd.RuntimeWasm:
					wasmPlugin(t, root, n, "1.0.0", wasmEcho(t, n, "1.0.0"), "")
				}
			}
			rec, sink := newRecorder(), &sinkRec{}
			h := observedHost(t, rec, sink, host.WithPluginDirs(root), host.WithParallelThreshold(0))
			require.NoError(t, h.Load(bg))
			for range 4 {
				require.NoError(t, host.Errors(h.Call(bg, clawd.ToolCall("s1", "grep", "{}"))))
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			rec.mu.Lock()
			defer rec.mu.Unlock()
			for _, n := range []string{"p1", "p2"} {
				require.Len(t, rec.marks[n], 4, n)
				for _, m := range rec.marks[n] {
					assert.True(t, strings.HasPrefix(m, n+"#"), "CallEnd's context has the marker: %q", m)
				}
				// on_load's event first: no call, so no marker.
				want := append([]string{""}, rec.marks[n]...)
				assert.Equal(t, want, sink.marks[n], "%s: the sink ran with each call's context", n)
				assert.Equal(t, want, rec.seen[n], "%s: Event was told with each call's context", n)
			}
			for _, e := range rec.events {
				assert.Equal(t, rt, e.Runtime)
			}
		})
	}
}

// An event the runtime refuses before the sink (here: network.relay
// refused by the policy) is told to the observer with its code and the
// call's context, no method, in the runtimes that judge it in this
// process. (The process runtime's child judges it on its side and only
// counts it: EventObserver's doc says so.)
func TestObserverSeesRefusalsBeforeTheSink(t *testing.T) {
	for _, rt := range []string{clawd.RuntimeNative, clawd.RuntimeWasm} {
		t.Run(rt, func(t *testing.T) {
			root := t.TempDir()
			switch rt {
			case clawd.RuntimeNative:
				plugin(t, root, "p1", "1.0.0", echo(t, "p1", "1.0.0"), "network.relay")
			case clawd.RuntimeProcess:
				sandboxed(t, root, "p1", echo(t, "p1", "1.0.0"), "", "network.relay")
			case clawd.RuntimeWasm:
				wasmPlugin(t, root, "p1", "1.0.0", wasmEcho(t, "p1", "1.0.0"), "")
			}
			rec, sink := newRecorder(), &sinkRec{}
			h := observedHost(t, rec, sink, host.WithPluginDirs(root),
				host.WithCapabilityPolicy(func(string, abi.Capability) bool { return false }))
			require.NoError(t, h.Load(bg))
			for range 3 { // each call's own context, not an earlier one's
				require.NoError(t, host.Errors(h.Call(bg, clawd.ToolCall("s1", "grep", "{}"))))
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			var refused []host.EventInfo
			for _, e := range rec.events {
				if e.Method == "" {
					refused = append(refused, e)
				}
			}
			require.Len(t, refused, 4, "on_load's event and the tool calls': %+v", rec.events)
			for _, e := range refused {
				assert.Equal(t, abi.CapabilityDenied, e.Refused)
				assert.Equal(t, "p1", e.Plugin)
				assert.Equal(t, rt, e.Runtime)
			}
			require.Len(t, rec.marks["p1"], 3)
			assert.Equal(t, append([]string{""}, rec.marks["p1"]...), rec.seen["p1"], "told with on_load's (none) and each call's context")
			sink.mu.Lock()
			defer sink.mu.Unlock()
			assert.Empty(t, sink.marks["p1"], "nothing reached the sink")
		})
	}
}

// Without a sink, an event observer still sees each event, refused with
// DaemonError as the runtimes refuse it.
func TestObserverWithoutSink(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"), "network.relay")
	rec := newRecorder()
	h := observedHost(t, rec, nil, host.WithPluginDirs(root), host.WithSandbox(manifest.SandboxNative))
	require.NoError(t, h.Load(bg))
	require.NoError(t, host.Errors(h.Call(bg, clawd.ToolCall("s1", "grep", "{}"))))
	require.Equal(t, []string{
		"event alpha native echo.on_load refused=DaemonError",
		"state alpha 1.0.0 loaded loaded->active",
		"start alpha 1.0.0 native on_tool_call",
		"event alpha native echo.on_tool_call refused=DaemonError",
		"end alpha on_tool_call code= verdict=continue",
	}, rec.take())
	assert.Equal(t, uint64(2), info(t, h, "alpha").Stats.Context.EventsRefused)
}

// The library's packages (and their tests) depend on no telemetry
// library: OpenTelemetry is the otel module's, Prometheus's text format
// is written by hand by the command.
func TestLibraryDependsOnNoTelemetry(t *testing.T) {
	// The go command, which this runs, is not on an emulated target (the
	// dependency graph is the same from any platform: make test checks it).
	cbuild.RequireTool(t, []string{"go"})
	cmd := exec.Command("go", "list", "-deps", "-test", "./...")
	cmd.Dir = ".." // the module root: ./... leaves out the otel and bench modules
	out, err := cmd.Output()
	require.NoError(t, err, "go list: %s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/clawd-go/clawd/host", "go list listed the library")
	for _, d := range deps {
		if strings.HasPrefix(d, "go.opentelemetry.io/") || strings.Contains(d, "prometheus") {
			t.Errorf("the library depends on %s: telemetry belongs in the otel module", d)
		}
	}
}
