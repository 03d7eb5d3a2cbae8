package isolate_test

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
)

// The host trusts nothing the child sends: the plugin writes the protocol's
// frames itself (testplugins/forge.c). A frame outside the contract kills
// the child and fails the call with crashed, naming the violation; frames
// inside it are judged as the in-process path judges the same calls. Other
// plugins' calls all succeed meanwhile.
func TestForgedFrames(t *testing.T) {
	lib := cbuild.Plugin(t, "forge")
	b := startBystanders(t)
	violations := []struct{ tool, says string }{
		{"log_huge", "message too long"},
		{"bad_header", "bad header"},
		{"result_status", "status 9"},
		{"result_code", `refusal code "signature_invalid"`},
		{"result_ok_rc", "success with a code"},
		{"event_len", "bad method length"},
		{"ident_huge", "bad name or version"},
		{"wake", "wake-up frame from a child that still runs"},
	}
	r := open(t, lib, isolate.WithRestart(len(violations)+1, time.Millisecond, time.Millisecond))
	for _, v := range violations {
		t.Run(v.tool, func(t *testing.T) {
			r.waitUp()
			ce := requireCode(t, r.p.ToolCall(bg, "s1", v.tool, "{}"), clawerr.Crashed)
			assert.Contains(t, ce.Detail, "broke the protocol", v.tool)
			assert.Contains(t, ce.Detail, v.says, v.tool)
		})
	}
	r.waitUp()
	require.NoError(t, r.p.ToolCall(bg, "s1", "ok", "{}"), "the plugin serves again after its restart")
	b.check(t)
}

// A log frame's level is the ABI's: anything else is Warn with the raw
// level, never zap's DPanic, Panic or Fatal, which would panic or exit the
// host.
func TestForgedLogLevels(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "forge"))
	for _, c := range []struct {
		raw  int
		want zapcore.Level
	}{{0, zapcore.DebugLevel}, {2, zapcore.InfoLevel}, {4, zapcore.ErrorLevel}, {5, zapcore.WarnLevel}, {6, zapcore.WarnLevel}, {255, zapcore.WarnLevel}} {
		before := r.logs.FilterMessage("forged level").Len()
		require.NoError(t, r.p.ToolCall(bg, "s1", "log_level:"+strconv.Itoa(c.raw), "{}"))
		lines := r.logs.FilterMessage("forged level").All()
		require.Len(t, lines, before+1)
		l := lines[len(lines)-1]
		assert.Equal(t, c.want, l.Level, "raw level %d", c.raw)
		if c.raw > int(cabi.LogError) {
			assert.Equal(t, uint64(c.raw), uint64(l.ContextMap()["level"].(uint8)), "the raw level is a field")
		}
	}
}

// An event frame from a plugin not granted network.relay never reaches the
// sink, whatever the child's own checks said: the host refuses it with
// CapabilityDenied, which the plugin reads back.
func TestForgedEventWithoutRelay(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "forge")) // no capabilities
	require.NoError(t, r.p.ToolCall(bg, "s1", "event", "{}"))
	assert.Equal(t, "reply: 3", r.logged(t, "reply: "))
	r.mu.Lock()
	assert.Empty(t, r.events, "the sink saw the forged event")
	r.mu.Unlock()
	assert.Equal(t, uint64(1), r.p.Stats().EventsRefused)

	granted := open(t, cbuild.Plugin(t, "forge"), clawd.WithCapabilities(abi.CapNetworkRelay))
	require.NoError(t, granted.p.ToolCall(bg, "s1", "event", "{}"))
	assert.Equal(t, "reply: 0", granted.logged(t, "reply: "))
	granted.mu.Lock()
	require.Len(t, granted.events, 1)
	assert.Equal(t, "forged.event", granted.events[0].Method)
	granted.mu.Unlock()
}

// Frames a plugin thread writes after its callback returned are stale, as
// in process, even though the child's loader never saw them.
func TestForgedLateFramesAreStale(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "go")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	r := open(t, cbuild.Plugin(t, "forge"), clawd.WithCapabilities(abi.CapNetworkRelay, abi.CapFSRead), clawd.WithProjectDir(dir))
	require.NoError(t, r.p.ToolCall(bg, "s1", "late:"+fifo, "{}"))
	// The call has returned: now the plugin's thread may write.
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{1})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	// Polled until the late frames are judged stale: a stale frame is
	// counted and dropped, nothing else tells of it. If they never are,
	// the test binary's -timeout fails the test.
	for s := r.p.Stats(); s.StaleLogs < 1 || s.StaleEvents < 1; s = r.p.Stats() {
		time.Sleep(5 * time.Millisecond)
	}
	assert.Zero(t, r.logs.FilterMessage("late line").Len(), "a stale line is dropped")
	r.mu.Lock()
	assert.Empty(t, r.events, "a stale event never reaches the sink")
	r.mu.Unlock()
	require.NoError(t, r.p.ToolCall(bg, "s1", "ok", "{}"), "and the plugin still serves")
}
