package contract

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/boundary"
)

// echoLines is the lines echo writes itself in on_load and on_tool_call
// (the runtime's own lines do not count).
func (r *rig) echoLines() []string {
	var out []string
	for _, e := range r.logs.All() {
		if e.Message == "on_load" || e.Message == "on_tool_call" {
			out = append(out, e.Message)
		}
	}
	return out
}

// requireIdentity checks that every line of echo's own and every event
// carries name and version, and the field library exactly when library is
// not "".
func requireIdentity(t *testing.T, r *rig, name, version, library string) {
	t.Helper()
	require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "t", "{}")))
	require.Equal(t, []string{"on_load", "on_tool_call"}, r.echoLines())
	for _, e := range r.logs.All() {
		if e.Message != "on_load" && e.Message != "on_tool_call" {
			continue
		}
		f := e.ContextMap()
		assert.Equal(t, name, f["plugin"], "field plugin of %q", e.Message)
		assert.Equal(t, version, f["version"], "field version of %q", e.Message)
		if library == "" {
			assert.NotContains(t, f, "library", "line %q", e.Message)
		} else {
			assert.Equal(t, library, f["library"], "field library of %q", e.Message)
		}
	}
	evs := r.sent()
	require.Len(t, evs, 2, "echo.on_load and echo.on_tool_call")
	for _, e := range evs {
		assert.Equal(t, name, e.Plugin, "Event.Plugin of %s", e.Method)
		assert.Equal(t, version, e.Version, "Event.Version of %s", e.Method)
	}
}

// The host's name (clawd.WithIdentity) is on the plugin's lines and
// events; the library's version wins; the library's own name is field
// library.
func identityHostName(t *testing.T, rt Runtime) {
	r := open(t, rt, "echo", []string{`-DECHO_NAME="libecho"`}, relay(), clawd.WithIdentity("host-echo", "9.9.9"))
	requireIdentity(t, r, "host-echo", "1.0.0", "libecho")
}

// Where the library has no version, the host's goes with the host's name.
func identityHostVersion(t *testing.T, rt Runtime) {
	r := open(t, rt, "echo", []string{`-DECHO_NAME="libecho"`, "-DECHO_VERSION=NULL"}, relay(), clawd.WithIdentity("host-echo", "9.9.9"))
	requireIdentity(t, r, "host-echo", "9.9.9", "libecho")
}

// Without a host's name the library's identity is kept whole.
func identityLibraryOwn(t *testing.T, rt Runtime) {
	r := open(t, rt, "echo", []string{`-DECHO_NAME="libecho"`}, relay())
	requireIdentity(t, r, "libecho", "1.0.0", "")
}

// A library that names itself nothing goes by the stem of the file it was
// verified from (clawd.WithSource), with a warning that says so.
func identityFileStem(t *testing.T, rt Runtime) {
	src := filepath.Join(t.TempDir(), "verified.plugin")
	r := open(t, rt, "null_name", nil, clawd.WithSource(src))
	assert.Equal(t, "verified", r.p.Name())
	assert.Contains(t, r.p.Warnings(), `using the file stem "verified" as the name`)
}

func skipUnsupervised(t *testing.T, rt Runtime) {
	t.Helper()
	if rt.Unsupervised != "" {
		t.Skipf("the %s runtime reports no state changes: %s", rt.Name, rt.Unsupervised)
	}
	require.NotEmpty(t, rt.Crash, "a supervising runtime names the tool that makes echo fault")
}

// After a fault the state function is told StateDown, then StateUp, in
// that order, after the faulting call returned (never inside it), and it
// may call into the same plugin; Close tells it nothing more.
func stateInOrder(t *testing.T, rt Runtime) {
	skipUnsupervised(t, rt)
	states := make(chan clawd.State, 8)
	calls := make(chan error, 8)
	returned := make(chan struct{})
	var p clawd.Plugin
	f := func(s clawd.State, _ error) {
		<-returned // inside the faulting call this would never return
		states <- s
		calls <- p.Call(bg, clawd.ToolCall("s", "from_state_func", "{}"))
	}
	r := open(t, rt, "echo", nil, relay(), clawd.WithStateFunc(f))
	p = r.p
	err := r.p.Call(bg, clawd.ToolCall("s", rt.Crash, "{}"))
	close(returned)
	require.Equal(t, clawerr.Crashed, clawerr.CodeOf(err), "%v", err)
	require.Equal(t, clawd.StateDown, <-states)
	if err := <-calls; err != nil { // the plugin may still be down
		require.Equal(t, clawerr.Unavailable, clawerr.CodeOf(err), "%v", err)
	}
	require.Equal(t, clawd.StateUp, <-states)
	require.NoError(t, <-calls, "a call from the state function once the plugin is up")
	require.NoError(t, r.p.Close())
	assert.Empty(t, states, "Close is not a state change the function is told of")
}

// The changes reported before Close are delivered before it returns.
func stateBeforeClose(t *testing.T, rt Runtime) {
	skipUnsupervised(t, rt)
	var mu sync.Mutex
	var seen []clawd.State
	r := open(t, rt, "echo", nil, relay(), clawd.WithStateFunc(func(s clawd.State, _ error) {
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	}))
	err := r.p.Call(bg, clawd.ToolCall("s", rt.Crash, "{}"))
	require.Equal(t, clawerr.Crashed, clawerr.CodeOf(err), "%v", err)
	require.NoError(t, r.p.Close())
	mu.Lock()
	got := append([]clawd.State(nil), seen...)
	mu.Unlock()
	// The restart may or may not have come before Close.
	if len(got) == 2 {
		assert.Equal(t, []clawd.State{clawd.StateDown, clawd.StateUp}, got)
	} else {
		assert.Equal(t, []clawd.State{clawd.StateDown}, got)
	}
}

// Levels 0-4 map to debug, debug, info, warn, error; an unknown level is
// warn with the level as field level; nothing a plugin logs is above error.
func logLevels(t *testing.T, rt Runtime) {
	r := open(t, rt, "echo", nil, relay())
	require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "log_levels", "{}")))
	want := map[string]zapcore.Level{"level:0": zapcore.DebugLevel, "level:1": zapcore.DebugLevel, "level:2": zapcore.InfoLevel,
		"level:3": zapcore.WarnLevel, "level:4": zapcore.ErrorLevel, "level:200": zapcore.WarnLevel}
	for msg, lvl := range want {
		l := r.logs.FilterMessage(msg).All()
		require.Len(t, l, 1, msg)
		assert.Equal(t, lvl, l[0].Level, msg)
		if msg == "level:200" {
			assert.Equal(t, uint8(200), l[0].ContextMap()["level"])
		} else {
			assert.NotContains(t, l[0].ContextMap(), "level", msg)
		}
	}
	for _, e := range r.logs.All() {
		assert.LessOrEqual(t, e.Level, zapcore.ErrorLevel, e.Message)
	}
}

// A line longer than the bound (64 KiB of text) is cut there, before a
// split rune, and marked truncated.
func logBound(t *testing.T, rt Runtime) {
	r := open(t, rt, "echo", nil, relay())
	for _, tc := range []struct {
		text string
		want int
	}{
		{strings.Repeat("a", 70000), 65536},
		{strings.Repeat("é", 40000), 65535}, // the cut at 65536 bytes would split an é
	} {
		require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "log:2", `"`+tc.text+`"`)))
		got := r.lines(`"` + tc.text[:4])
		require.Len(t, got, 1)
		assert.Equal(t, tc.want, len(got[0].Message), "64 KiB, cut before a split rune")
		assert.Equal(t, true, got[0].ContextMap()["truncated"])
	}
}

// send_event without network.relay is CapabilityDenied to the plugin, and
// no sink sees it.
func sendNeedsRelay(t *testing.T, rt Runtime) {
	r := open(t, rt, "echo", nil)
	require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "send:x.y", `{"a":1}`)))
	assert.Equal(t, []string{fmt.Sprintf("send_event_custom:%d", abi.CapabilityDenied)}, r.messages("send_event_custom:"))
	assert.Equal(t, []string{fmt.Sprintf("send_event:%d", abi.CapabilityDenied), fmt.Sprintf("send_event:%d", abi.CapabilityDenied)},
		r.messages("send_event:"), "echo's own events of on_load and on_tool_call")
	assert.Empty(t, r.sent())
	assert.Equal(t, clawd.Stats{EventsRefused: 3}, r.p.Stats(), "on_load's, on_tool_call's and the custom send")
}

// Params that are not a JSON object, params that are not JSON and an
// empty method are DaemonError to the plugin and counted as invalid; a
// valid event reaches the sink byte for byte.
func sendArguments(t *testing.T, rt Runtime) {
	r := open(t, rt, "echo", nil, relay())
	require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "send:x.ok", `{"k":"ü"}`)))
	require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "send:x.array", `[1]`)))
	require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "send_text:x.broken", `"{\"k\":"`)))
	require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "send:", `{}`)))
	ok, bad := fmt.Sprintf("send_event_custom:%d", abi.None), fmt.Sprintf("send_event_custom:%d", abi.DaemonError)
	assert.Equal(t, []string{ok, bad, bad, bad}, r.messages("send_event_custom:"))
	var custom []clawd.Event
	for _, e := range r.sent() {
		if strings.HasPrefix(e.Method, "x.") {
			custom = append(custom, e)
		}
	}
	require.Len(t, custom, 1)
	assert.Equal(t, "x.ok", custom[0].Method)
	assert.Equal(t, `{"k":"ü"}`, string(custom[0].Params))
	assert.Equal(t, uint64(3), r.p.Stats().InvalidArgs)
}

// A context kept past its callback is stale: its log line is dropped, its
// send_event is DaemonError and reaches no sink, both counted.
func staleContext(t *testing.T, rt Runtime) {
	r := open(t, rt, "echo", nil, relay())
	require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "keep", "{}")))
	require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "use_kept_inline", "{}")))
	assert.Equal(t, []string{fmt.Sprintf("stale_send_event:%d", abi.DaemonError)}, r.messages("stale_send_event:"))
	assert.Empty(t, r.messages("stale log"))
	for _, e := range r.sent() {
		assert.NotEqual(t, "echo.stale", e.Method)
	}
	st := r.p.Stats()
	assert.Equal(t, uint64(1), st.StaleLogs)
	assert.Equal(t, uint64(1), st.StaleEvents)
}

// The counters after a known workload, and after Close (on_unload sends
// one more).
func statsWorkload(t *testing.T, rt Runtime) {
	r := open(t, rt, "echo", nil, relay())
	r.mu.Lock()
	r.answer = func(e clawd.Event) error {
		if e.Method == "x.refused" {
			return abi.NotFound
		}
		return nil
	}
	r.mu.Unlock()
	require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "t", "{}")))              // 1 sent
	require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "send:x.array", "[1]")))  // 1 sent, 1 refused and invalid
	require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "send:x.refused", "{}"))) // 1 sent, 1 refused by the sink
	want := clawd.Stats{EventsSent: 4, EventsRefused: 2, InvalidArgs: 1}          // with on_load's
	assert.Equal(t, want, r.p.Stats())
	require.NoError(t, r.p.Close())
	want.EventsSent++
	assert.Equal(t, want, r.p.Stats(), "after Close, with on_unload's")
}

// A second Close returns the first one's result; on_unload ran once.
func closeTwice(t *testing.T, rt Runtime) {
	r := open(t, rt, "echo", nil, relay())
	require.NoError(t, r.p.Close())
	require.NoError(t, r.p.Close())
	assert.Equal(t, []string{"on_unload"}, r.messages("on_unload"))
	var unloads int
	for _, e := range r.sent() {
		if e.Method == "echo.on_unload" {
			unloads++
		}
	}
	assert.Equal(t, 1, unloads)
}

// Every call after Close is closed, and reaches no plugin code.
func callsAfterClose(t *testing.T, rt Runtime) {
	r := open(t, rt, "echo", nil, relay())
	require.NoError(t, r.p.Close())
	before := len(r.logs.All())
	for _, c := range []clawd.Call{clawd.ToolCall("s", "t", "{}"), clawd.SessionStart("s"), clawd.SessionEnd("s"), clawd.Message("s", "user", "{}")} {
		err := r.p.Call(bg, c)
		assert.Equal(t, clawerr.Closed, clawerr.CodeOf(err), "%s: %v", c.Op, err)
	}
	assert.Len(t, r.logs.All(), before, "no line from a call after Close")
}

// The bound is bytes of text (boundary.MaxLogMessage): a message of
// exactly that many is logged whole, one byte more is cut to it and marked
// truncated.
func logBoundExact(t *testing.T, rt Runtime) {
	r := open(t, rt, "echo", nil, relay())
	for _, tc := range []struct {
		size      int // of the message, echo's input with its quotes
		truncated bool
	}{
		{boundary.MaxLogMessage, false},
		{boundary.MaxLogMessage + 1, true},
	} {
		input := `"` + strings.Repeat("b", tc.size-2) + `"`
		require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "log:2", input)))
		got := r.lines(`"bbbb`)
		require.Len(t, got, 1, "%d bytes", tc.size)
		assert.Equal(t, boundary.MaxLogMessage, len(got[0].Message), "%d bytes", tc.size)
		if tc.truncated {
			assert.Equal(t, true, got[0].ContextMap()["truncated"], "%d bytes", tc.size)
		} else {
			assert.NotContains(t, got[0].ContextMap(), "truncated", "%d bytes", tc.size)
		}
		r.logs.TakeAll()
	}
}

// sendBound sends method with params through echo and returns the code
// echo reported and the custom events the sink took.
func sendBound(t *testing.T, r *rig, method, params string) (string, []clawd.Event) {
	t.Helper()
	r.logs.TakeAll()
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
	require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", "send:"+method, params)))
	codes := r.messages("send_event_custom:")
	require.Len(t, codes, 1)
	var custom []clawd.Event
	for _, e := range r.sent() {
		if strings.HasPrefix(e.Method, "x.") {
			custom = append(custom, e)
		}
	}
	return codes[0], custom
}

// A method of boundary.MaxMethod bytes with its NUL is sent; one byte
// more is DaemonError, counted invalid, and reaches no sink.
func sendMethodBound(t *testing.T, rt Runtime) {
	r := open(t, rt, "echo", nil, relay())
	at := "x." + strings.Repeat("m", boundary.MaxMethod-3)
	code, evs := sendBound(t, r, at, `{}`)
	assert.Equal(t, fmt.Sprintf("send_event_custom:%d", abi.None), code, "a method of %d bytes", len(at))
	require.Len(t, evs, 1)
	assert.Equal(t, at, evs[0].Method)
	code, evs = sendBound(t, r, at+"m", `{}`)
	assert.Equal(t, fmt.Sprintf("send_event_custom:%d", abi.DaemonError), code, "a method of %d bytes", len(at)+1)
	assert.Empty(t, evs)
	assert.Equal(t, uint64(1), r.p.Stats().InvalidArgs)
}

// params_json of boundary.MaxParams bytes with its NUL is sent byte for
// byte; one byte more is DaemonError, counted invalid, and reaches no sink.
func sendParamsBound(t *testing.T, rt Runtime) {
	r := open(t, rt, "echo", nil, relay())
	at := `{"k":"` + strings.Repeat("p", boundary.MaxParams-1-len(`{"k":""}`)) + `"}`
	code, evs := sendBound(t, r, "x.big", at)
	assert.Equal(t, fmt.Sprintf("send_event_custom:%d", abi.None), code, "params of %d bytes", len(at))
	require.Len(t, evs, 1)
	assert.True(t, string(evs[0].Params) == at, "params byte for byte: got %d bytes, want %d", len(evs[0].Params), len(at))
	code, evs = sendBound(t, r, "x.big", at+" ")
	assert.Equal(t, fmt.Sprintf("send_event_custom:%d", abi.DaemonError), code, "params of %d bytes", len(at)+1)
	assert.Empty(t, evs)
	assert.Equal(t, uint64(1), r.p.Stats().InvalidArgs)
}
