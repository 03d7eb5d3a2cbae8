package isolate_test

import (
	"context"
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
	changed chan struct{} // closed, and replaced, at each state change and log line
}

func open(t *testing.T, lib string, opts ...clawd.Option) *rig {
	t.Helper()
	r, err := tryOpen(t, lib, opts...)
	require.NoError(t, err)
	return r
}

func tryOpen(t *testing.T, lib string, opts ...clawd.Option) (*rig, error) {
	t.Helper()
	r := &rig{changed: make(chan struct{})}
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
		// The hook runs after the observer has the line: until sees it.
		clawd.WithLogger(zap.New(core, zap.Hooks(func(zapcore.Entry) error {
			r.bump()
			return nil
		}))),
		clawd.WithEventSink(sink),
		clawd.WithStateFunc(func(s clawd.State, _ error) {
			r.mu.Lock()
			r.states = append(r.states, s)
			r.mu.Unlock()
			r.bump()
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

// bump wakes the waiters of until.
func (r *rig) bump() {
	r.mu.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// until waits for cond, looked at again after each state change and log
// line (the plugin's and the sandbox's: a restart is logged after the
// state is stored). It has no deadline of its own: a condition that never
// holds fails the test at the test binary's -timeout.
func (r *rig) until(cond func() bool) {
	for {
		r.mu.Lock()
		ch := r.changed // taken before cond: a change after it closes ch
		r.mu.Unlock()
		if cond() {
			return
		}
		<-ch
	}
}

// logged waits until a log line starting with prefix arrives and returns
// it.
func (r *rig) logged(t *testing.T, prefix string) string {
	t.Helper()
	var line string
	r.until(func() bool {
		for _, m := range r.messages() {
			if strings.HasPrefix(m, prefix) {
				line = m
				return true
			}
		}
		return false
	})
	return line
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

// waitUp waits for the plugin's child to be serving again: the state is
// stored before it is reported.
func (r *rig) waitUp() {
	r.until(func() bool { return r.p.State() == clawd.StateUp })
}
