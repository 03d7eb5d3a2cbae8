package loader_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/child"
	"github.com/clawd-go/clawd/loader"
)

func TestMain(m *testing.M) {
	child.Register(childRole, func(raw json.RawMessage) int {
		var a childArgs
		if err := json.Unmarshal(raw, &a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 9
		}
		return childMain(a)
	})
	child.Main() // in a child: runs its scenario and exits
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

// rig is a plugin opened with an observed logger and a recording sink.
type rig struct {
	p    clawd.Plugin
	logs *observer.ObservedLogs

	mu     sync.Mutex
	events []clawd.Event
	onSend func(clawd.Event) error // optional: the sink's answer
}

func open(t *testing.T, so string, opts ...clawd.Option) *rig {
	t.Helper()
	r := &rig{}
	p, err := r.open(so, opts...)
	require.NoError(t, err)
	r.p = p
	t.Cleanup(func() { _ = p.Close() })
	return r
}

func (r *rig) open(so string, opts ...clawd.Option) (clawd.Plugin, error) {
	core, logs := observer.New(zapcore.DebugLevel)
	r.logs = logs
	sink := clawd.SinkFunc(func(_ context.Context, e clawd.Event) error {
		r.mu.Lock()
		r.events = append(r.events, e)
		f := r.onSend
		r.mu.Unlock()
		if f != nil {
			return f(e)
		}
		return nil
	})
	base := []clawd.Option{clawd.WithLogger(zap.New(core)), clawd.WithEventSink(sink)}
	return loader.Open(so, append(base, opts...)...)
}

// lines returns the messages logged by the plugin, in order.
func (r *rig) lines() []string {
	var out []string
	for _, e := range r.logs.All() {
		if _, ok := e.ContextMap()["plugin"]; ok {
			out = append(out, e.Message)
		}
	}
	return out
}

func (r *rig) takeLines() []string {
	l := r.lines()
	r.logs.TakeAll()
	return l
}

func (r *rig) takeEvents() []clawd.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

func params(t *testing.T, e clawd.Event) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(e.Params, &m))
	return m
}

var bg = context.Background()

func relay() clawd.Option { return clawd.WithCapabilities(abi.CapNetworkRelay) }

func withPrefix(lines []string, p string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, p) {
			out = append(out, l)
		}
	}
	return out
}

func withoutPrefix(lines []string, p string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, p) {
			out = append(out, l)
		}
	}
	return out
}

// The test binary is its own child: playing childRole, it runs the
// scenario childMain is given instead of the tests.
const childRole = "loader-test"

type childArgs struct {
	Mode string `json:"mode"`
	Lib  string `json:"lib"`
}

// The calls by op, through Call.
func sessionStart(p clawd.Plugin, ctx context.Context, s string) error {
	return p.Call(ctx, clawd.SessionStart(s))
}

func sessionEnd(p clawd.Plugin, ctx context.Context, s string) error {
	return p.Call(ctx, clawd.SessionEnd(s))
}

func toolCall(p clawd.Plugin, ctx context.Context, s, tool, in string) error {
	return p.Call(ctx, clawd.ToolCall(s, tool, in))
}

func message(p clawd.Plugin, ctx context.Context, s, role, content string) error {
	return p.Call(ctx, clawd.Message(s, role, content))
}

// hook is the plugin's Hook.
func hook(p clawd.Plugin, ctx context.Context, c clawd.Call) (clawd.Verdict, error) {
	return p.(clawd.Hooker).Hook(ctx, c)
}
