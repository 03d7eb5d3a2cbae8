package isolate_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
)

func TestMain(m *testing.M) {
	isolate.Main() // this test binary is also the sandbox child
	if os.Getenv(envHostMode) != "" {
		hostMode() // TestHostKilled's host
		return
	}
	// Under -race a child sleeps a second at exit before reporting; the
	// sandbox tests start and stop dozens of children.
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

var bg = context.Background()

// rig is a sandboxed plugin with an observed logger and a recording sink.
type rig struct {
	p    *isolate.Plugin
	logs *observer.ObservedLogs

	mu      sync.Mutex
	events  []clawd.Event
	states  []clawd.State
	onEvent func(clawd.Event) error
}

func open(t *testing.T, lib string, opts ...clawd.Option) *rig {
	t.Helper()
	r, err := tryOpen(t, lib, opts...)
	require.NoError(t, err)
	return r
}

func tryOpen(t *testing.T, lib string, opts ...clawd.Option) (*rig, error) {
	t.Helper()
	r := &rig{}
	core, logs := observer.New(zapcore.DebugLevel)
	r.logs = logs
	sink := clawd.SinkFunc(func(_ context.Context, e clawd.Event) error {
		r.mu.Lock()
		r.events = append(r.events, e)
		f := r.onEvent
		r.mu.Unlock()
		if f != nil {
			return f(e)
		}
		return nil
	})
	base := []clawd.Option{
		clawd.WithLogger(zap.New(core)),
		clawd.WithEventSink(sink),
		clawd.WithStateFunc(func(s clawd.State, _ error) {
			r.mu.Lock()
			r.states = append(r.states, s)
			r.mu.Unlock()
		}),
	}
	p, err := isolate.OpenPlugin(lib, append(base, opts...)...)
	if err != nil {
		return nil, err
	}
	r.p = p
	t.Cleanup(func() { p.Close() })
	return r, nil
}

// messages lists the plugin's log lines so far.
func (r *rig) messages() []string {
	var out []string
	for _, e := range r.logs.All() {
		out = append(out, e.Message)
	}
	return out
}

// logged waits until a log line starting with prefix arrives and returns
// it. It polls with no deadline of its own: a line that never comes fails
// the test at the test binary's -timeout.
func (r *rig) logged(t *testing.T, prefix string) string {
	t.Helper()
	for {
		for _, m := range r.messages() {
			if strings.HasPrefix(m, prefix) {
				return m
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *rig) sawStates() []clawd.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]clawd.State(nil), r.states...)
}

func requireCode(t *testing.T, err error, code clawerr.Code) *clawerr.Error {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, clawerr.CodeOf(err), "%v", err)
	var ce *clawerr.Error
	require.ErrorAs(t, err, &ce)
	return ce
}

func requireCallbackCode(t *testing.T, err error, want abi.Code) {
	t.Helper()
	requireCode(t, err, clawerr.CallbackError)
	require.ErrorIs(t, err, want)
}

// waitUp waits for the plugin's child to be serving again.
func waitUp(t *testing.T, p *isolate.Plugin) {
	t.Helper()
	// Polled without a deadline of its own: a restart that never comes
	// fails the test at the test binary's -timeout.
	for p.State() != clawd.StateUp {
		time.Sleep(5 * time.Millisecond)
	}
}
