package wasm_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/wasm"
)

// guest is an open plugin with its log and its events, for assertions.
type guest struct {
	*wasm.Plugin
	logs *observer.ObservedLogs
	mu   sync.Mutex
	evs  []clawd.Event
}

func (g *guest) events() []clawd.Event {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]clawd.Event(nil), g.evs...)
}

// lines is the plugin's log messages that start with prefix.
func (g *guest) lines(prefix string) []string {
	var out []string
	for _, e := range g.logs.All() {
		if strings.HasPrefix(e.Message, prefix) {
			out = append(out, e.Message)
		}
	}
	return out
}

// open opens mod with network.relay, a recording sink and an observed
// logger, plus opts; the plugin is closed at the test's end.
func open(t testing.TB, mod string, opts ...clawd.Option) *guest {
	t.Helper()
	g, err := tryOpen(mod, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func tryOpen(mod string, opts ...clawd.Option) (*guest, error) {
	core, logs := observer.New(zapcore.DebugLevel)
	g := &guest{logs: logs}
	base := []clawd.Option{clawd.WithLogger(zap.New(core)), clawd.WithCapabilities(abi.CapNetworkRelay),
		clawd.WithEventSink(clawd.SinkFunc(func(ctx context.Context, e clawd.Event) error {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.evs = append(g.evs, e)
			return nil
		}))}
	p, err := wasm.OpenPlugin(mod, append(base, opts...)...)
	if err != nil {
		return nil, err
	}
	g.Plugin = p
	return g, nil
}

func codeIs(t testing.TB, err error, code clawerr.Code, contains ...string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, clawerr.CodeOf(err), "%v", err)
	for _, c := range contains {
		require.ErrorContains(t, err, c)
	}
}

func cbuildWasm(t testing.TB, name string, flags ...string) string {
	t.Helper()
	return cbuild.WasmPlugin(t, name, flags...)
}
