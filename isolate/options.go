package isolate

import (
	"time"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd/abi"
	clawctx "github.com/clawd-go/clawd/context"
	"github.com/clawd-go/clawd/internal/contain"
)

// Option configures Open.
type Option func(*options)

type options struct {
	logger       *zap.Logger
	sink         clawctx.Sink
	caps         []abi.Capability
	exe          string
	callTimeout  time.Duration
	openTimeout  time.Duration
	closeTimeout time.Duration
	maxRestarts  int
	backoff      time.Duration
	maxBackoff   time.Duration
	limits       Limits
	pluginDir    string
	projectDir   string
	noLandlock   bool
	maxProcesses int
	onState      func(State, error)
	floors       int // benchmark: raw echo channels in the child
}

func defaults() options {
	return options{
		logger:       zap.NewNop(),
		openTimeout:  30 * time.Second,
		closeTimeout: 10 * time.Second,
		maxRestarts:  5,
		backoff:      100 * time.Millisecond,
		maxBackoff:   30 * time.Second,
		limits:       DefaultLimits,
		maxProcesses: DefaultMaxProcesses,
	}
}

// Limits are the resource limits of a sandbox child (Linux rlimits). Core
// dumps are always off.
type Limits struct {
	AddressSpace uint64        // bytes of virtual memory; 0: no limit
	CPUTime      time.Duration // CPU time over the child's life, whole seconds; 0: no limit
}

// DefaultLimits: room for the Go runtime, the plugin and its threads; a
// plugin that spins for an hour of CPU is restarted.
var DefaultLimits = Limits{AddressSpace: 4 << 30, CPUTime: time.Hour}

// WithLogger sets the logger that receives the plugin's log lines (with
// fields plugin and version) and the sandbox's own messages.
func WithLogger(l *zap.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithEventSink sets where the plugin's send_event calls go; the sink's
// answer travels back to the plugin. Without one every event is refused
// with DaemonError.
func WithEventSink(s clawctx.Sink) Option { return func(o *options) { o.sink = s } }

// WithCapabilities grants capabilities: network.relay allows send_event,
// fs.read opens the project directory read-only to the plugin, fs.write
// read-write.
func WithCapabilities(caps ...abi.Capability) Option {
	return func(o *options) { o.caps = append(o.caps, caps...) }
}

// WithExecutable sets the program run as the child: one that calls Main
// first thing (the clawd-plugin command does). Default: this program,
// which must then have called Main.
func WithExecutable(path string) Option { return func(o *options) { o.exe = path } }

// WithCallTimeout sets the longest a call may take when its context has no
// earlier deadline (a manifest's call_timeout_ms). Past it the child is
// killed and the call returns timeout. 0: only the context's deadline.
func WithCallTimeout(d time.Duration) Option { return func(o *options) { o.callTimeout = d } }

// WithOpenTimeout bounds the start of a child: loading the plugin and its
// on_load. Default 30s.
func WithOpenTimeout(d time.Duration) Option { return func(o *options) { o.openTimeout = d } }

// WithRestart sets how a crashed child is restarted: after first, then
// twice as long each time up to most, at most max times in a row before the
// plugin is given up (calls then return unavailable for good). A call that
// succeeds resets the count. Defaults: 5, 100ms, 30s. max 0 never restarts.
func WithRestart(max int, first, most time.Duration) Option {
	return func(o *options) { o.maxRestarts, o.backoff, o.maxBackoff = max, first, most }
}

// WithLimits sets the child's resource limits (DefaultLimits otherwise).
func WithLimits(l Limits) Option { return func(o *options) { o.limits = l } }

// DefaultMaxProcesses is how many processes and threads a plugin may
// create by default (WithMaxProcesses).
const DefaultMaxProcesses = contain.DefaultMaxProcesses

// WithMaxProcesses bounds the processes and threads the plugin may create
// (its forks and their threads, its own threads), also under a root host:
// on Linux a pids cgroup made for the child whose pids.max is n plus
// contain.RuntimeTasks, the allowance for the child's own Go runtime and
// protocol threads (the cgroup counts every task of the child). A fork past
// the bound fails with EAGAIN in the plugin. Where no cgroup can be made
// (no writable pids hierarchy), nothing bounds it and Containment says so.
// Default DefaultMaxProcesses; 0: no bound.
func WithMaxProcesses(n int) Option { return func(o *options) { o.maxProcesses = max(n, 0) } }

// WithPluginDir names the plugin's own directory (its manifest's), which
// the child may read. The directory of the library itself is always
// readable.
func WithPluginDir(dir string) Option { return func(o *options) { o.pluginDir = dir } }

// WithProjectDir names the project directory that fs.read and fs.write
// open to the plugin. Default: none.
func WithProjectDir(dir string) Option { return func(o *options) { o.projectDir = dir } }

// WithoutLandlock keeps the child's file and network access unrestricted
// (the other limits still apply): for plugins that need more than their
// grants describe, on a host that accepts the risk.
func WithoutLandlock() Option { return func(o *options) { o.noLandlock = true } }

// WithStateFunc sets a function told of every change of the child's
// state: StateDown with the crash, StateUp after a restart, StateFailed
// when restarts are given up. It runs on its own goroutine, never inside a
// call.
func WithStateFunc(f func(State, error)) Option { return func(o *options) { o.onState = f } }
