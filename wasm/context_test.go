package wasm_test

import (
	"context"
	"fmt"
	fnv1a "hash/fnv"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/wasm"
)

// A context kept past its callback is stale: log dropped, send_event
// DaemonError, both counted.
func TestStaleContext(t *testing.T) {
	g := open(t, cbuildWasm(t, "echo"))
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "keep", "{}")))
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "use_kept_inline", "{}")))
	assert.Equal(t, []string{"kept_is_current:0"}, g.lines("kept_is_current:"))
	assert.Equal(t, []string{"stale_send_event:5"}, g.lines("stale_send_event:"))
	assert.Empty(t, g.lines("stale log"))
	st := g.Stats()
	assert.Equal(t, uint64(1), st.StaleLogs)
	assert.Equal(t, uint64(1), st.StaleEvents)
}

// 1 MiB of input and multi-byte UTF-8 arrive byte for byte.
func TestLargeAndUTF8Arguments(t *testing.T) {
	g := open(t, cbuildWasm(t, "echo"))
	big := `{"x":"` + strings.Repeat("ab€", (1<<20)/5) + `"}`
	require.NoError(t, g.Call(bg, clawd.ToolCall("sé", "grép", big)))
	assert.Equal(t, []string{"session:sé"}, g.lines("session:"))
	assert.Equal(t, []string{"tool:grép"}, g.lines("tool:"))
	assert.Equal(t, []string{"input_len:" + itoa(len(big))}, g.lines("input_len:"))
	assert.Equal(t, []string{"input_fnv:" + fnv(big)}, g.lines("input_fnv:"))
	// Smaller calls after the big one still see their own bytes only.
	require.NoError(t, g.Call(bg, clawd.Message("s", "user", `"日本語"`)))
	assert.Equal(t, []string{`content:"日本語"`}, g.lines("content:"))
	codeIs(t, g.Call(bg, clawd.Message("s", "us\x00er", `""`)), clawerr.InvalidArgument, "role")
}

// poolModes are the ways a plugin's instances are kept: one, serialized;
// a pool of one (a nested call must find the instance that sent, the only
// one, busy below it); a pool of two.
var poolModes = []struct {
	name string
	opts []clawd.Option
}{
	{"serialized", nil},
	{"pool of 1", []clawd.Option{clawd.WithConcurrent(true), wasm.WithPoolSize(1)}},
	{"pool of 2", []clawd.Option{clawd.WithConcurrent(true), wasm.WithPoolSize(2)}},
}

// A sink may call back into the plugin that is sending (re-entry on the
// same instance), and other plugins.
func TestReentry(t *testing.T) {
	for _, m := range poolModes {
		t.Run(m.name, func(t *testing.T) { testReentry(t, m.opts) })
	}
}

func testReentry(t *testing.T, opts []clawd.Option) {
	var p *wasm.Plugin
	var inner error
	sink := clawd.SinkFunc(func(ctx context.Context, e clawd.Event) error {
		if e.Method == "echo.reenter" {
			inner = p.Call(ctx, clawd.ToolCall("s", "inner", "{}"))
			return abi.NotFound
		}
		return nil
	})
	core, logs := observer.New(zapcore.DebugLevel)
	var err error
	p, err = wasm.OpenPlugin(cbuildWasm(t, "echo"), append([]clawd.Option{clawd.WithLogger(zap.New(core)), clawd.WithEventSink(sink),
		clawd.WithCapabilities(abi.CapNetworkRelay)}, opts...)...)
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Call(bg, clawd.ToolCall("s", "reenter", "{}")))
	require.NoError(t, inner)
	assert.Equal(t, 1, p.Instances(), "the nested call ran in the sending instance")
	assert.Equal(t, 1, logs.FilterMessage("tool:inner").Len())
	assert.Equal(t, 1, logs.FilterMessage("reenter_send_event:4").Len(), "the sink's answer reaches the plugin")
}

func itoa(n int) string { return strconv.Itoa(n) }

// fnv is echo's digest: FNV-1a 64, 16 hex digits.
func fnv(s string) string {
	h := fnv1a.New64a()
	h.Write([]byte(s))
	return fmt.Sprintf("%016x", h.Sum64())
}

// A fault in a call nested below a sink is crashed for that call; the
// outer call finishes, and the instance is made again after it.
func TestNestedFault(t *testing.T) {
	for _, m := range poolModes {
		t.Run(m.name, func(t *testing.T) { testNestedFault(t, m.opts) })
	}
}

func testNestedFault(t *testing.T, opts []clawd.Option) {
	var p *wasm.Plugin
	var inner, closeErr error
	sink := clawd.SinkFunc(func(ctx context.Context, e clawd.Event) error {
		if e.Method == "echo.reenter" {
			inner = p.Call(ctx, clawd.ToolCall("s", "abort", "{}"))
			closeErr = p.Close()
		}
		if e.Method == "echo.panic" {
			panic("the sink panics")
		}
		return nil
	})
	core, logs := observer.New(zapcore.DebugLevel)
	var err error
	p, err = wasm.OpenPlugin(cbuildWasm(t, "echo"), append([]clawd.Option{clawd.WithLogger(zap.New(core)), clawd.WithEventSink(sink),
		clawd.WithCapabilities(abi.CapNetworkRelay)}, opts...)...)
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Call(bg, clawd.ToolCall("s", "reenter", "{}")))
	codeIs(t, inner, clawerr.Crashed, "trap in on_tool_call")
	codeIs(t, closeErr, clawerr.InvalidArgument, "inside the plugin's own send_event")
	assert.Equal(t, uint64(1), p.Restarts())
	assert.Equal(t, 1, logs.FilterMessage("reenter_send_event:0").Len(), "the outer call went on")
	require.NoError(t, p.Call(bg, clawd.ToolCall("s", "send:echo.panic", "{}")))
	assert.Equal(t, 1, logs.FilterMessage("send_event_custom:5").Len(), "a panicking sink is DaemonError")
	assert.Equal(t, uint64(1), p.Stats().Panics)
	// on_load in the first instance, the fresh one, and any other of a pool
	// that the last call needed.
	assert.Equal(t, 1+int(p.Restarts())+p.Instances()-1, logs.FilterMessage("loads:1").Len())
}
