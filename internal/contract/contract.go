// Package contract is the runtime contract suite: one table of cases that
// every runtime of the plugin ABI must pass, as testing/fstest.TestFS
// serves every fs.FS. A runtime's test calls Run with how to build and
// open the test plugins in it; a runtime that breaks a rule fails the case
// named after the rule, the same name for every runtime.
package contract

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
)

// Runtime says how the suite opens a test plugin in one runtime.
type Runtime struct {
	// Name is the runtime's name as registered with clawd.Register; the
	// suite opens through clawd.Open.
	Name string
	// Build builds the test plugin of that name (its C source in
	// testplugins/) with the extra compiler flags, for this runtime, and
	// returns the file to open (cbuild.Plugin, cbuild.WasmPlugin).
	Build func(tb testing.TB, plugin string, flags ...string) string
	// Options are added to every open: the runtime's own settings.
	Options []clawd.Option
	// Unsupervised is why the runtime reports no state changes ("": it
	// supervises its plugins); the state cases skip with it.
	Unsupervised string
	// Crash is the tool name that makes echo's on_tool_call fault in a way
	// the runtime survives ("": none; only for a supervising runtime).
	Crash string
	// NoThreads is why plugins in this runtime cannot start threads of
	// their own ("": they can); the cases that need them skip with it.
	NoThreads string
}

// Run runs every case against rt, each as a subtest of its name.
func Run(t *testing.T, rt Runtime) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, rt) })
	}
}

var cases = []struct {
	name string
	run  func(*testing.T, Runtime)
}{
	{"identity/host_name_on_lines_and_events", identityHostName},
	{"identity/host_version_where_the_library_has_none", identityHostVersion},
	{"identity/library_own_without_host_name", identityLibraryOwn},
	{"identity/file_stem_of_the_source", identityFileStem},
	{"state/in_order_off_the_call", stateInOrder},
	{"state/pending_delivered_before_close", stateBeforeClose},
	{"log/levels", logLevels},
	{"log/bound", logBound},
	{"log/bound_exact_and_one_over", logBoundExact},
	{"send_event/needs_network_relay", sendNeedsRelay},
	{"send_event/params_and_method", sendArguments},
	{"send_event/method_at_the_bound_and_one_over", sendMethodBound},
	{"send_event/params_at_the_bound_and_one_over", sendParamsBound},
	{"hook/verdicts", hookVerdicts},
	{"hook/refusals", hookRefusals},
	{"hook/invalid_payloads", hookInvalidPayloads},
	{"hook/callback_error_is_no_block", hookErrorIsNoBlock},
	{"hook/from_another_thread", hookOtherThread},
	{"hook/kept_context_is_stale", hookStale},
	{"context/kept_past_its_call_is_stale", staleContext},
	{"stats/after_a_known_workload", statsWorkload},
	{"close/twice", closeTwice},
	{"close/calls_after", callsAfterClose},
}

var bg = context.Background()

// rig is a plugin open in one runtime with an observed logger and a
// recording sink.
type rig struct {
	p    clawd.Plugin
	logs *observer.ObservedLogs

	mu     sync.Mutex
	events []clawd.Event
	answer func(clawd.Event) error // the sink's answer; nil accepts
}

// open builds plugin with flags and opens it in rt with a recording sink,
// an observed logger, rt's options and opts; it is closed at the test's end.
func open(t *testing.T, rt Runtime, plugin string, flags []string, opts ...clawd.Option) *rig {
	t.Helper()
	r := &rig{}
	core, logs := observer.New(zapcore.DebugLevel)
	r.logs = logs
	sink := clawd.SinkFunc(func(_ context.Context, e clawd.Event) error {
		r.mu.Lock()
		r.events = append(r.events, e)
		f := r.answer
		r.mu.Unlock()
		if f != nil {
			return f(e)
		}
		return nil
	})
	all := []clawd.Option{clawd.WithLogger(zap.New(core)), clawd.WithEventSink(sink)}
	all = append(all, rt.Options...)
	p, err := clawd.Open(rt.Name, rt.Build(t, plugin, flags...), append(all, opts...)...)
	require.NoError(t, err)
	r.p = p
	t.Cleanup(func() { _ = p.Close() })
	return r
}

func relay() clawd.Option { return clawd.WithCapabilities(abi.CapNetworkRelay) }

// lines is the log entries whose message starts with prefix.
func (r *rig) lines(prefix string) []observer.LoggedEntry {
	var out []observer.LoggedEntry
	for _, e := range r.logs.All() {
		if strings.HasPrefix(e.Message, prefix) {
			out = append(out, e)
		}
	}
	return out
}

// messages is the messages of lines(prefix).
func (r *rig) messages(prefix string) []string {
	var out []string
	for _, e := range r.lines(prefix) {
		out = append(out, e.Message)
	}
	return out
}

func (r *rig) sent() []clawd.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]clawd.Event(nil), r.events...)
}
