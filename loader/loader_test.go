package loader_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/clawctx"
	"github.com/clawd-go/clawd/internal/outcome"
	"github.com/clawd-go/clawd/internal/vtable"
	"github.com/clawd-go/clawd/loader"
)

func TestCallPathMatchesBuild(t *testing.T) {
	assert.Equal(t, vtable.Path, clawctx.TrampolinePath)
}

// Every callback receives exactly the bytes it was given and its log and
// send_event come back with them.
func TestEchoRoundTripsBytes(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), relay())
	assert.Equal(t, "echo", r.p.Name())
	assert.Equal(t, "1.0.0", r.p.Version())
	assert.Equal(t, uint32(1), r.p.ABIVersion())
	assert.Empty(t, r.p.Warnings())
	assert.Equal(t, []abi.Callback{abi.OnLoad, abi.OnUnload, abi.OnSessionStart, abi.OnSessionEnd, abi.OnToolCall, abi.OnMessage}, r.p.Callbacks())
	assert.Equal(t, []string{"on_load", "loads:1", "send_event:0"}, r.takeLines())
	ev := r.takeEvents()
	require.Len(t, ev, 1)
	assert.Equal(t, "echo.on_load", ev[0].Method)
	assert.Equal(t, `{"cb":"on_load","name":"echo","version":"1.0.0"}`, string(ev[0].Params))
	assert.Equal(t, "echo", ev[0].Plugin)
	assert.Equal(t, "1.0.0", ev[0].Version)

	cases := []struct{ name, session, tool, input string }{
		{"ascii", "s1", "grep", `{"pattern":"x"}`},
		{"empty strings", "", "", `""`}, // the input an empty JSON string: JSON text is promised
		{"multi-byte UTF-8", "séance-会话-🦀", "outil_日本", `{"text":"naïve — 𝄞 ✓"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, toolCall(r.p, bg, c.session, c.tool, c.input))
			assert.Equal(t, []string{"on_tool_call", "session:" + c.session, "tool:" + c.tool, "input:" + c.input, "send_event:0"}, r.takeLines())
			ev := r.takeEvents()
			require.Len(t, ev, 1)
			assert.Equal(t, "echo.on_tool_call", ev[0].Method)
			m := params(t, ev[0])
			assert.Equal(t, c.session, m["session"])
			assert.Equal(t, c.tool, m["tool"])
			assert.Equal(t, float64(len(c.input)), m["input_len"])

			require.NoError(t, message(r.p, bg, c.session, "user", c.input))
			assert.Equal(t, []string{"on_message", "session:" + c.session, "role:user", "content:" + c.input, "send_event:0"}, r.takeLines())
			require.Len(t, r.takeEvents(), 1)

			require.NoError(t, sessionStart(r.p, bg, c.session))
			require.NoError(t, sessionEnd(r.p, bg, c.session))
			assert.Equal(t, []string{"on_session_start", "session:" + c.session, "send_event:0", "on_session_end", "session:" + c.session, "send_event:0"}, r.takeLines())
			ev = r.takeEvents()
			require.Len(t, ev, 2)
			assert.Equal(t, "echo.on_session_start", ev[0].Method)
			assert.Equal(t, "echo.on_session_end", ev[1].Method)
			assert.Equal(t, c.session, params(t, ev[1])["session"])
		})
	}
}

func TestEchoOneMebibyteInput(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), relay())
	r.takeLines()
	var b strings.Builder
	b.WriteString(`{"blob":"`)
	for b.Len() < 1<<20-2 {
		b.WriteString("abcdefghij—ü")
	}
	in := b.String()[:1<<20-2]
	in = strings.ToValidUTF8(in, "") + `"}`
	h := fnv.New64a()
	h.Write([]byte(in))
	want := fmt.Sprintf("%016x", h.Sum64())
	for i := 0; i < 3; i++ { // the large buffer is made and freed per call
		require.NoError(t, toolCall(r.p, bg, "s1", "big", in))
		assert.Equal(t, []string{"on_tool_call", "session:s1", "tool:big", fmt.Sprintf("input_len:%d", len(in)), "input_fnv:" + want, "send_event:0"}, r.takeLines())
	}
	// a small call after the big ones still works from the kept buffer
	require.NoError(t, toolCall(r.p, bg, "s1", "t", "{}"))
	assert.Contains(t, r.takeLines(), "input:{}")
}

func TestInteriorNULIsInvalidArgument(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), relay())
	r.takeLines()
	for _, c := range []struct {
		call func() error
		arg  string
	}{
		{func() error { return toolCall(r.p, bg, "s\x001", "t", "{}") }, "session_id"},
		{func() error { return toolCall(r.p, bg, "s", "t\x00", "{}") }, "tool_name"},
		{func() error { return toolCall(r.p, bg, "s", "t", "{\x00}") }, "input_json"},
		{func() error { return message(r.p, bg, "s", "us\x00er", "{}") }, "role"},
		{func() error { return sessionStart(r.p, bg, "\x00") }, "session_id"},
	} {
		err := c.call()
		require.Error(t, err)
		assert.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(err))
		assert.ErrorIs(t, err, outcome.ErrInteriorNUL)
		assert.Contains(t, err.Error(), c.arg)
	}
	assert.Empty(t, r.takeLines(), "the plugin must not be called")
}

func TestCallbackErrorsCarryTheClawaError(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), relay())
	err := toolCall(r.p, bg, "s", "fail", "{}")
	assert.Equal(t, clawerr.CallbackError, clawerr.CodeOf(err))
	assert.ErrorIs(t, err, abi.CallbackError)
	assert.ErrorIs(t, err, clawerr.CallbackError)
	var ce *clawerr.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "echo", ce.Plugin)
	assert.Equal(t, "on_tool_call", ce.Op)

	err = toolCall(r.p, bg, "s", "notfound", "{}")
	assert.ErrorIs(t, err, abi.NotFound)
	assert.False(t, errors.Is(err, abi.CallbackError))

	for _, n := range []int32{42, -1, 6} {
		err = toolCall(r.p, bg, "s", fmt.Sprintf("code:%d", n), "{}")
		assert.Equal(t, clawerr.UnknownCode, clawerr.CodeOf(err), "code %d", n)
		var u *abi.UnknownCodeError
		require.ErrorAs(t, err, &u)
		assert.Equal(t, n, u.Code)
	}
	for c := abi.InitFailed; c <= abi.DaemonError; c++ {
		err = toolCall(r.p, bg, "s", fmt.Sprintf("code:%d", c), "{}")
		assert.Equal(t, clawerr.CallbackError, clawerr.CodeOf(err))
		assert.ErrorIs(t, err, c)
	}
}

func TestUnknownCodePlugin(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "unknown_code"))
	err := toolCall(r.p, bg, "s", "t", "{}")
	assert.Equal(t, clawerr.UnknownCode, clawerr.CodeOf(err))
	var u *abi.UnknownCodeError
	require.ErrorAs(t, err, &u)
	assert.Equal(t, int32(42), u.Code)
	err = sessionStart(r.p, bg, "s")
	require.ErrorAs(t, err, &u)
	assert.Equal(t, int32(-1), u.Code)
	err = message(r.p, bg, "s", "user", "{}")
	require.ErrorAs(t, err, &u)
	assert.Equal(t, int32(6), u.Code)
	// on_session_end is NULL: skipped, not an error
	assert.NoError(t, sessionEnd(r.p, bg, "s"))
}

func TestNullCallbacksAreSkipped(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "minimal"))
	assert.Empty(t, r.p.Callbacks())
	assert.False(t, r.p.Has(abi.OnToolCall))
	assert.NoError(t, sessionStart(r.p, bg, "s"))
	assert.NoError(t, toolCall(r.p, bg, "s", "t", "{}"))
	assert.NoError(t, message(r.p, bg, "s", "user", "{}"))
	assert.NoError(t, sessionEnd(r.p, bg, "s"))
	assert.NoError(t, r.p.Close())
}

// Each plugin that breaks the ABI is refused with its own code.
func TestLoadFailures(t *testing.T) {
	notALib := filepath.Join(t.TempDir(), "libnot.so")
	require.NoError(t, os.WriteFile(notALib, []byte("not an ELF file"), 0o644))
	cases := []struct {
		name string
		path string
		code clawerr.Code
		msg  string
	}{
		{"open_failed", notALib, clawerr.OpenFailed, "libnot.so"},
		{"missing file", filepath.Join(t.TempDir(), "nope.so"), clawerr.OpenFailed, "nope.so"},
		{"missing_init", cbuild.Plugin(t, "missing_init"), clawerr.MissingInit, "clawd_plugin_init"},
		{"init_null", cbuild.Plugin(t, "init_null"), clawerr.InitNull, "returned NULL"},
		{"abi_mismatch", cbuild.Plugin(t, "bad_abi"), clawerr.ABIMismatch, "abi_version is 2"},
		{"reserved_slot_set", cbuild.Plugin(t, "reserved_slot"), clawerr.ReservedSlotSet, "_reserved[3]"},
		{"bad_name utf8", cbuild.Plugin(t, "bad_name_utf8"), clawerr.BadName, "UTF-8"},
		{"bad_name unterminated", cbuild.Plugin(t, "bad_name_unterminated"), clawerr.BadName, "NUL"},
		{"bad_name 256 bytes", cbuild.Plugin(t, "bad_name_unterminated", "-DTERMINATE_AT=256"), clawerr.BadName, "NUL"},
		{"bad_version", cbuild.Plugin(t, "bad_version"), clawerr.BadVersion, "UTF-8"},
		{"on_load_failed", cbuild.Plugin(t, "on_load_fails"), clawerr.OnLoadFailed, "InitFailed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &rig{}
			p, err := r.open(c.path)
			require.Nil(t, p)
			require.Error(t, err)
			assert.Equal(t, c.code, clawerr.CodeOf(err), "%v", err)
			assert.ErrorIs(t, err, c.code)
			assert.Contains(t, err.Error(), c.msg)
			assert.NotContains(t, r.lines(), "BUG: on_load of a plugin that must be refused")
		})
	}
	t.Run("on_load_failed logs and keeps the ClawaError", func(t *testing.T) {
		r := &rig{}
		_, err := r.open(cbuild.Plugin(t, "on_load_fails"))
		assert.ErrorIs(t, err, abi.InitFailed)
		assert.Equal(t, []string{"on_load failing"}, r.lines())
	})
	t.Run("a 255-byte name loads", func(t *testing.T) {
		r := open(t, cbuild.Plugin(t, "bad_name_unterminated", "-DTERMINATE_AT=255"))
		assert.Equal(t, strings.Repeat("a", 255), r.p.Name())
	})
}

func TestNullNameLoadsWithWarnings(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "null_name"))
	assert.Equal(t, "null_name", r.p.Name(), "the file stem")
	assert.Equal(t, "not-semver", r.p.Version())
	assert.Equal(t, []string{"name is NULL", `version "not-semver" is not semver 2.0`, `using the file stem "null_name" as the name`}, r.p.Warnings())
	var warned int
	for _, e := range r.logs.All() {
		if strings.HasPrefix(e.Message, "plugin loads with a warning") {
			warned++
		}
	}
	assert.Equal(t, 3, warned)
	require.NoError(t, toolCall(r.p, bg, "s", "t", "{}"))
	assert.Equal(t, []string{"on_load", "on_tool_call"}, withoutPrefix(r.lines(), "plugin loads with a warning"))

	r2 := open(t, cbuild.Plugin(t, "null_name", "-DNULL_VERSION"))
	assert.Equal(t, "", r2.p.Version())
	assert.Contains(t, r2.p.Warnings(), "version is NULL")
}

func TestLogLevelsMapToZap(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), relay())
	r.logs.TakeAll()
	require.NoError(t, toolCall(r.p, bg, "s", "log_levels", "{}"))
	got := map[string]string{}
	for _, e := range r.logs.All() {
		if strings.HasPrefix(e.Message, "level:") {
			got[e.Message] = e.Level.String()
			assert.Equal(t, "echo", e.ContextMap()["plugin"])
			assert.Equal(t, "1.0.0", e.ContextMap()["version"])
			if e.Message == "level:200" {
				assert.Equal(t, uint8(200), e.ContextMap()["level"])
			}
		}
	}
	assert.Equal(t, map[string]string{"level:0": "debug", "level:1": "debug", "level:2": "info", "level:3": "warn", "level:4": "error", "level:200": "warn"}, got)
}

func TestBadArgumentsFromThePlugin(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "bad_args"), relay())
	r.logs.TakeAll()
	require.NoError(t, toolCall(r.p, bg, "s", "t", "{}"))
	lines := r.lines()
	assert.Equal(t, []string{
		"rc null_method=5", "rc null_params=5", "rc empty_method=5", "rc array_params=5",
		"rc bad_json=5", "rc params_utf8=5", "rc method_utf8=5", "rc ok=0",
	}, withPrefix(lines, "rc "))
	assert.Contains(t, lines, "plugin called log with a NULL message")
	assert.Contains(t, lines, "level 200")
	assert.Contains(t, lines, "\uFFFD invalid utf8")
	ev := r.takeEvents()
	require.Len(t, ev, 1, "only the valid event reaches the sink")
	assert.Equal(t, "ok", ev[0].Method)
	assert.JSONEq(t, `{"a":1}`, string(ev[0].Params))
	st := r.p.Stats()
	assert.Equal(t, uint64(1), st.EventsSent)
	assert.Equal(t, uint64(7), st.EventsRefused)
	assert.Equal(t, uint64(9), st.InvalidArgs, "NULL log, invalid UTF-8 log and 7 bad sends")
	assert.Equal(t, uint64(0), st.Panics)
}

func TestSendEventNeedsNetworkRelay(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo")) // no capability granted
	assert.Equal(t, []string{"on_load", "loads:1", "send_event:3"}, r.takeLines())
	require.NoError(t, toolCall(r.p, bg, "s", "t", "{}"))
	assert.Contains(t, r.takeLines(), "send_event:3")
	assert.Empty(t, r.takeEvents())
	assert.Equal(t, uint64(2), r.p.Stats().EventsRefused)
}

func TestSinkAnswerReachesThePlugin(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), relay())
	r.onSend = func(clawd.Event) error { return abi.NotFound }
	require.NoError(t, toolCall(r.p, bg, "s", "send:custom.m", `{"k":"v"}`))
	assert.Contains(t, r.takeLines(), "send_event_custom:4")
	r.onSend = func(clawd.Event) error { return errors.New("disk full") }
	require.NoError(t, toolCall(r.p, bg, "s", "send:custom.m", `{"k":"v"}`))
	assert.Contains(t, r.takeLines(), "send_event_custom:5")
	r.onSend = func(clawd.Event) error { panic("sink bug") }
	require.NoError(t, toolCall(r.p, bg, "s", "send:custom.m", `{"k":"v"}`))
	assert.Contains(t, r.takeLines(), "send_event_custom:5")
	assert.Equal(t, uint64(2), r.p.Stats().Panics, "echo sends echo.on_tool_call first, then the custom event")
}

func TestNoSinkRefusesEvents(t *testing.T) {
	p, err := loader.Open(cbuild.Plugin(t, "echo"), relay())
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, toolCall(p, bg, "s", "send:m", `{}`))
	assert.Equal(t, uint64(3), p.Stats().EventsRefused) // on_load's, echo.on_tool_call and send:m
	assert.Equal(t, uint64(0), p.Stats().EventsSent)
}

// A context kept after its callback returned is stale: its log is dropped
// and counted, its send_event returns DaemonError. Nothing crashes.
func TestStaleContext(t *testing.T) {
	for _, mode := range []string{"use_kept", "use_kept_inline"} {
		t.Run(mode, func(t *testing.T) {
			r := open(t, cbuild.Plugin(t, "echo"), relay())
			require.NoError(t, toolCall(r.p, bg, "s", "keep", "{}"))
			r.takeLines()
			r.takeEvents()
			require.NoError(t, toolCall(r.p, bg, "s", mode, "{}"))
			lines := r.takeLines()
			assert.Contains(t, lines, "kept_is_current:0", "a new call must get a different context")
			assert.Contains(t, lines, "stale_send_event:5")
			assert.NotContains(t, lines, "stale log")
			for _, e := range r.takeEvents() {
				assert.NotEqual(t, "echo.stale", e.Method)
			}
			st := r.p.Stats()
			assert.Equal(t, uint64(1), st.StaleLogs)
			assert.Equal(t, uint64(1), st.StaleEvents)
		})
	}
}

// A plugin that calls back from its own threads during a callback: every
// line and event arrives, attributed to the plugin.
func TestCallbacksFromPluginThreads(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), relay())
	r.takeLines()
	r.takeEvents()
	const n = 8
	require.NoError(t, toolCall(r.p, bg, "s", fmt.Sprintf("threads:%d", n), "{}"))
	lines := r.takeLines()
	assert.Len(t, withPrefix(lines, "thread:"), n*100)
	assert.Contains(t, lines, fmt.Sprintf("threads_joined:%d", n))
	assert.Contains(t, lines, "thread_send_failures:0")
	threadEvents := 0
	for _, e := range r.takeEvents() {
		if e.Method == "echo.thread" {
			threadEvents++
			assert.Equal(t, "echo", e.Plugin)
		}
	}
	assert.Equal(t, n*10, threadEvents)
}

// A sink that calls back into the same plugin does not deadlock: the call
// re-enters the plugin, which is blocked in its own send_event.
func TestSinkReentersSamePlugin(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), relay())
	r.takeLines()
	var inner error
	r.onSend = func(e clawd.Event) error {
		if e.Method == "echo.reenter" {
			inner = toolCall(r.p, bg, "s-inner", "nested", "{}")
			return inner
		}
		return nil
	}
	// A deadlock keeps the call from returning: the test binary's -timeout
	// fails the test then.
	require.NoError(t, toolCall(r.p, bg, "s", "reenter", "{}"))
	require.NoError(t, inner)
	lines := r.takeLines()
	assert.Contains(t, lines, "session:s-inner")
	assert.Contains(t, lines, "reenter_send_event:0")
	// Close from inside the sink is refused instead of waiting on itself.
	var closeErr error
	r.onSend = func(e clawd.Event) error {
		if e.Method == "echo.reenter" {
			closeErr = r.p.Close()
		}
		return nil
	}
	require.NoError(t, toolCall(r.p, bg, "s", "reenter", "{}"))
	assert.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(closeErr))
	require.NoError(t, toolCall(r.p, bg, "s", "t", "{}"), "the plugin still serves")
}

// Unbounded recursion through the sink is cut at MaxDepth instead of
// overflowing the C stack.
func TestReentryDepthIsCapped(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), relay())
	depth := 0
	r.onSend = func(e clawd.Event) error {
		if e.Method == "echo.reenter" {
			depth++
			return toolCall(r.p, bg, "s", "reenter", "{}")
		}
		return nil
	}
	require.NoError(t, toolCall(r.p, bg, "s", "reenter", "{}"))
	assert.Equal(t, clawctx.MaxDepth, depth)
	// the innermost call's two sends (echo.on_tool_call, echo.reenter) are refused
	assert.Equal(t, uint64(2), r.p.Stats().DepthExceeded)
	assert.Contains(t, r.lines(), "reenter_send_event:5")
}

// Calls into one plugin are serialized by default and run in parallel with
// WithConcurrent(true).
func TestSerializedAndConcurrent(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		t.Run(fmt.Sprintf("concurrent=%v", concurrent), func(t *testing.T) {
			r := open(t, cbuild.Plugin(t, "echo"), relay(), clawd.WithConcurrent(concurrent))
			const n = 4
			if concurrent {
				// Every call waits in the sink, inside the plugin, until all
				// n are inside: calls that ran one at a time would never
				// meet, and the test binary's -timeout would fail the test.
				var inside sync.WaitGroup
				inside.Add(n)
				r.onSend = func(e clawd.Event) error {
					if e.Method == "echo.on_tool_call" {
						inside.Done()
						inside.Wait()
					}
					return nil
				}
			}
			start := time.Now()
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					assert.NoError(t, toolCall(r.p, bg, "s", "sleep:100", "{}"))
				}()
			}
			wg.Wait()
			if !concurrent {
				// n sleeps of 100 ms one after the other: a lower bound,
				// which no slow machine can break.
				assert.GreaterOrEqual(t, time.Since(start), n*100*time.Millisecond)
			}
			assert.Len(t, withPrefix(r.lines(), "slept:100"), n)
		})
	}
}

func TestCloseCallsOnUnloadOnceAndRefusesCalls(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), relay())
	r.takeLines()
	require.NoError(t, r.p.Close())
	require.NoError(t, r.p.Close())
	assert.Equal(t, []string{"on_unload", "send_event:0"}, r.takeLines())
	for _, err := range []error{
		toolCall(r.p, bg, "s", "t", "{}"), sessionStart(r.p, bg, "s"),
		sessionEnd(r.p, bg, "s"), message(r.p, bg, "s", "user", "{}"),
	} {
		assert.Equal(t, clawerr.Closed, clawerr.CodeOf(err))
	}
}

// Close waits for the calls in flight.
func TestCloseWaitsForCallsInFlight(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		t.Run(fmt.Sprintf("concurrent=%v", concurrent), func(t *testing.T) {
			r := open(t, cbuild.Plugin(t, "echo"), relay(), clawd.WithConcurrent(concurrent))
			r.takeLines()
			inside := make(chan struct{}, 1)
			r.onSend = func(e clawd.Event) error {
				if e.Method == "echo.on_tool_call" {
					inside <- struct{}{} // sent before the plugin sleeps
				}
				return nil
			}
			done := make(chan error, 1)
			go func() { done <- toolCall(r.p, bg, "s", "sleep:200", "{}") }()
			<-inside // the call is in the plugin
			require.NoError(t, r.p.Close())
			require.NoError(t, <-done)
			lines := r.lines()
			require.Contains(t, lines, "slept:200")
			require.Contains(t, lines, "on_unload")
			assert.Less(t, indexOf(lines, "slept:200"), indexOf(lines, "on_unload"))
		})
	}
}

func indexOf(l []string, s string) int {
	for i, x := range l {
		if x == s {
			return i
		}
	}
	return -1
}

func TestContextIsChecked(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), relay())
	r.takeLines()
	ctx, cancel := context.WithCancel(bg)
	cancel()
	err := toolCall(r.p, ctx, "s", "t", "{}")
	assert.Equal(t, clawerr.Unavailable, clawerr.CodeOf(err))
	assert.ErrorIs(t, err, context.Canceled)
	ctx, cancel = context.WithDeadline(bg, time.Now().Add(-time.Second))
	defer cancel()
	err = toolCall(r.p, ctx, "s", "t", "{}")
	assert.Equal(t, clawerr.Timeout, clawerr.CodeOf(err))
	assert.Empty(t, r.lines())
}

// Two plugins run side by side; one failing does not disturb the other.
func TestTwoPluginsIndependent(t *testing.T) {
	a := open(t, cbuild.Plugin(t, "echo"), relay())
	b := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="echo2"`, `-DECHO_VERSION="2.0.0"`), relay())
	assert.Equal(t, "echo2", b.p.Name())
	assert.Equal(t, "2.0.0", b.p.Version())
	_, err := (&rig{}).open(cbuild.Plugin(t, "bad_abi"))
	require.Error(t, err)
	require.NoError(t, toolCall(a.p, bg, "s", "t", "{}"))
	require.NoError(t, toolCall(b.p, bg, "s", "t", "{}"))
	ea, eb := a.takeEvents(), b.takeEvents()
	assert.Equal(t, "1.0.0", ea[len(ea)-1].Version)
	assert.Equal(t, "2.0.0", eb[len(eb)-1].Version)
}

// Many opens, calls and closes do not exhaust purego's 2000 callbacks:
// the trampolines are made once per process, and every context of every
// open leads to the same two.
func TestManyOpensShareTwoTrampolines(t *testing.T) {
	so := cbuild.Plugin(t, "null_name") // on_load and on_tool_call log through the context
	var first [2]uintptr
	for i := 0; i < 2500; i++ {
		p, err := loader.Open(so)
		require.NoError(t, err)
		require.NoError(t, toolCall(p, bg, "s", "t", "{}"))
		require.NoError(t, p.Close())
		if i == 0 {
			first = clawctx.Trampolines()
		}
	}
	assert.Equal(t, first, clawctx.Trampolines())
	assert.NotZero(t, first[0])
	assert.NotZero(t, first[1])
}
