package clawd_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
	_ "github.com/clawd-go/clawd/loader" // registers "native"
	_ "github.com/clawd-go/clawd/wasm"   // registers "wasm"
)

func TestMain(m *testing.M) {
	isolate.Main() // this test binary is also the sandbox child
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

func TestRegistry(t *testing.T) {
	assert.Equal(t, []string{clawd.RuntimeNative, clawd.RuntimeProcess, clawd.RuntimeWasm}, clawd.Runtimes())
	_, err := clawd.Open("wasm-not-here", "x.wasm")
	assert.Equal(t, clawerr.RuntimeUnsupported, clawerr.CodeOf(err))
	assert.ErrorContains(t, err, `no runtime "wasm-not-here"`)
	assert.Panics(t, func() {
		clawd.Register(clawd.RuntimeNative, func(string, ...clawd.Option) (clawd.Plugin, error) { return nil, nil })
	}, "a name is registered once")
	assert.Panics(t, func() { clawd.Register("nil", nil) })
}

// The same plugin through every registered runtime, with the same table of
// calls and assertions on each: the same source built as a shared library,
// and as a .wasm for the wasm runtime.
func TestEveryRuntime(t *testing.T) {
	for _, rt := range clawd.Runtimes() {
		t.Run(rt, func(t *testing.T) {
			var lib string
			if rt == clawd.RuntimeWasm {
				lib = cbuild.WasmPlugin(t, "echo")
			} else {
				lib = cbuild.Plugin(t, "echo")
			}
			core, logs := observer.New(zapcore.DebugLevel)
			var mu sync.Mutex
			var events []clawd.Event
			type ctxKey struct{}
			var sawCtx []any
			sink := clawd.SinkFunc(func(ctx context.Context, e clawd.Event) error {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, e)
				sawCtx = append(sawCtx, ctx.Value(ctxKey{}))
				return nil
			})
			p, err := clawd.Open(rt, lib, clawd.WithLogger(zap.New(core)), clawd.WithEventSink(sink),
				clawd.WithCapabilities(abi.CapNetworkRelay))
			require.NoError(t, err)
			_, contained := p.(clawd.Contained)
			_, supervised := p.(clawd.Supervised)
			assert.Equal(t, rt == clawd.RuntimeProcess, contained, "Contained")
			assert.Equal(t, rt == clawd.RuntimeProcess, supervised, "Supervised")

			assert.Equal(t, "echo", p.Name())
			assert.Equal(t, "1.0.0", p.Version())
			assert.Equal(t, uint32(abi.Version), p.ABIVersion())
			assert.True(t, p.Has(abi.OnToolCall))

			ctx := context.WithValue(context.Background(), ctxKey{}, rt)
			calls := []struct {
				c       clawd.Call
				code    clawerr.Code
				abi     abi.Code
				notJSON string // the argument refused as not JSON
			}{
				{clawd.SessionStart("s1"), "", 0, ""},
				{clawd.ToolCall("s1", "grep", `{"q":1}`), "", 0, ""},
				{clawd.Message("s1", "user", `"hi"`), "", 0, ""},
				{clawd.ToolCall("s1", "notfound", `{}`), clawerr.CallbackError, abi.NotFound, ""},
				{clawd.ToolCall("s1", "gr\x00ep", `{}`), clawerr.InvalidArgument, 0, ""},
				{clawd.Call{Op: clawd.NumOps}, clawerr.InvalidArgument, 0, ""},
				// The ABI promises the plugin JSON text: what is not never reaches it.
				{clawd.ToolCall("s1", "grep", `{"q":`), clawerr.InvalidArgument, 0, "input_json"},
				{clawd.ToolCall("s1", "grep", ``), clawerr.InvalidArgument, 0, "input_json"},
				{clawd.ToolCall("s1", "grep", `{"q":1}{}`), clawerr.InvalidArgument, 0, "input_json"},
				{clawd.ToolCall("s1", "grep", `pattern=x`), clawerr.InvalidArgument, 0, "input_json"},
				{clawd.ToolCall("s1", "grep", `{'q':1}`), clawerr.InvalidArgument, 0, "input_json"},
				{clawd.Message("s1", "user", `hi`), clawerr.InvalidArgument, 0, "content_json"},
				{clawd.Message("s1", "user", `"hi`), clawerr.InvalidArgument, 0, "content_json"},
				{clawd.SessionEnd("s1"), "", 0, ""},
			}
			for _, c := range calls {
				err := p.Call(ctx, c.c)
				assert.Equal(t, c.code, clawerr.CodeOf(err), "%v %q", c.c.Op, c.c.Args)
				if c.abi != 0 {
					assert.ErrorIs(t, err, c.abi)
				}
				if c.notJSON != "" {
					assert.ErrorIs(t, err, clawd.ErrNotJSON)
					assert.ErrorContains(t, err, "clawd: echo: "+c.c.Op.String()+": invalid_argument: "+c.notJSON+" is not JSON text")
				}
			}
			// A hook is a call too: its input is checked the same way.
			hk, ok := p.(clawd.Hooker)
			require.True(t, ok)
			_, err = hk.Hook(ctx, clawd.ToolCall("s1", "grep", `{"q":1`))
			assert.ErrorIs(t, err, clawd.ErrNotJSON)
			assert.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(err))
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			assert.Equal(t, clawerr.Unavailable, clawerr.CodeOf(p.Call(cancelled, clawd.SessionStart("s2"))))

			mu.Lock()
			var methods []string
			for i, e := range events {
				methods = append(methods, e.Method)
				want := any(rt) // the sink gets the call's context
				if e.Method == "echo.on_load" {
					want = nil // Open takes no context
				}
				assert.Equal(t, want, sawCtx[i], e.Method)
				assert.Equal(t, "echo", e.Plugin)
			}
			mu.Unlock()
			assert.Equal(t, []string{"echo.on_load", "echo.on_session_start", "echo.on_tool_call", "echo.on_message",
				"echo.on_tool_call", "echo.on_session_end"}, methods)
			var lines []string
			for _, l := range logs.FilterMessageSnippet("tool:").All() {
				lines = append(lines, l.Message)
				assert.Equal(t, "echo", l.ContextMap()["plugin"])
			}
			assert.Equal(t, []string{"tool:grep", "tool:notfound"}, lines)
			st := p.Stats()
			assert.Equal(t, uint64(6), st.EventsSent)

			require.NoError(t, p.Close())
			assert.NoError(t, p.Close(), "a second Close returns the first one's result")
			assert.Equal(t, clawerr.Closed, clawerr.CodeOf(p.Call(ctx, clawd.SessionStart("s3"))))
			assert.Equal(t, 1, logs.FilterMessage("on_unload").Len(), "on_unload ran once")
		})
	}
}
