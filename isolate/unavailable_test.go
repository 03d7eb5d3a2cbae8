package isolate_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
)

// While the process is down, a call says what took it down: after a
// timeout it was killed, not crashed; after a crash the reason is its
// first line, not the crash report with the child's stderr again.
func TestUnavailableSaysWhatHappened(t *testing.T) {
	lib := cbuild.Plugin(t, "hostile")

	// The restart is an hour away, so the process is still down at the
	// next call however slow the machine (Close ends the wait).
	r := open(t, lib, clawd.WithCallTimeout(200*time.Millisecond), isolate.WithRestart(5, time.Hour, time.Hour))
	requireCode(t, r.p.ToolCall(bg, "s1", "loop", "{}"), clawerr.Timeout)
	err := r.p.ToolCall(bg, "s1", "ok", "{}")
	ce := requireCode(t, err, clawerr.Unavailable)
	require.Equal(t, "the plugin's process was killed after a call timed out and is being restarted", ce.Detail)
	require.NotContains(t, err.Error(), "crashed")
	require.ErrorIs(t, err, clawerr.Timeout, "the reason is the timeout")

	r = open(t, lib, isolate.WithRestart(5, time.Hour, time.Hour))
	crash := requireCode(t, r.p.ToolCall(bg, "s1", "segv", "{}"), clawerr.Crashed)
	require.Contains(t, crash.Detail, "last stderr lines")
	err = r.p.ToolCall(bg, "s1", "ok", "{}")
	ce = requireCode(t, err, clawerr.Unavailable)
	require.Equal(t, "the plugin's process crashed and is being restarted", ce.Detail)
	require.ErrorIs(t, err, clawerr.Crashed, "the reason is the crash")
	require.NotContains(t, err.Error(), "last stderr lines")
	require.NotContains(t, err.Error(), "\n")
}

// What the plugin's process writes to stderr is logged, line by line at
// debug level with the plugin's fields, as field stream "stderr".
func TestStderrIsLogged(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "hostile"), isolate.WithRestart(5, 5*time.Second, 5*time.Second))
	requireCode(t, r.p.ToolCall(bg, "s1", "segv", "{}"), clawerr.Crashed)
	var lines []string
	for _, e := range r.logs.FilterField(zap.String("stream", "stderr")).All() {
		require.Equal(t, zapcore.DebugLevel, e.Level)
		require.Equal(t, "hostile", e.ContextMap()["plugin"])
		lines = append(lines, e.Message)
	}
	require.Contains(t, lines, "SIGSEGV: segmentation violation")
}

// An event sent from on_load before any log line carries the plugin's
// name and version, as in process.
func TestEventFromOnLoadIsNamed(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "load_event"), clawd.WithCapabilities(abi.CapNetworkRelay))
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Len(t, r.events, 1)
	require.Equal(t, "load_event 1.0.0 load.ready", r.events[0].Plugin+" "+r.events[0].Version+" "+r.events[0].Method)
}
