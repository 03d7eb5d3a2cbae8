package isolate

import (
	"os"
	"time"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/contain"
	"github.com/clawd-go/clawd/internal/runopt"
)

// The sandbox takes the options of package clawd: clawd.WithLogger (the
// plugin's lines, with fields plugin and version, and the sandbox's own
// messages), clawd.WithEventSink (the sink's answer travels back to the
// plugin), clawd.WithCapabilities (network.relay allows send_event;
// fs.read opens the project directory read-only to the plugin, fs.write
// read-write), clawd.WithPluginDir, clawd.WithProjectDir,
// clawd.WithCallTimeout and clawd.WithStateFunc. It ignores
// clawd.WithConcurrent: calls into one child are serialized. Its own
// options follow; they are clawd.Options too.

// option is what this package's own options carry (internal/runopt).
type option func(*options)

func own(set option) clawd.Option { return runopt.Wrap[clawd.Option](set) }

// options is the sandbox's configuration: the shared part and its own.
type options struct {
	clawd.Config
	exe          string
	openTimeout  time.Duration
	closeTimeout time.Duration
	maxRestarts  int
	backoff      time.Duration
	maxBackoff   time.Duration
	limits       Limits
	noLandlock   bool
	floors       int // benchmark: raw echo channels in the child
}

func newOptions(opts []clawd.Option) options {
	o := options{
		Config:       clawd.NewConfig(opts),
		openTimeout:  30 * time.Second,
		closeTimeout: 10 * time.Second,
		maxRestarts:  5,
		backoff:      100 * time.Millisecond,
		maxBackoff:   30 * time.Second,
		limits:       Limits{AddressSpace: contain.DefaultAddressSpace, CPUTime: contain.DefaultCPUTime},
	}
	runopt.Each(opts, func(set option) { set(&o) })
	return o
}

// Limits are the resource limits of a sandbox child (Linux rlimits). Core
// dumps are always off.
type Limits struct {
	AddressSpace uint64        // bytes of virtual memory; 0: no limit
	CPUTime      time.Duration // CPU time over the child's life, whole seconds; 0: no limit
}

// WithExecutable sets the program run as the child: one that calls Main
// first thing (the clawd-plugin command does). Default: this program,
// which must then have called Main.
func WithExecutable(path string) clawd.Option {
	return own(func(o *options) { o.exe = path })
}

// WithOpenTimeout bounds the start of a child: loading the plugin and its
// on_load. Default 30s.
func WithOpenTimeout(d time.Duration) clawd.Option {
	return own(func(o *options) { o.openTimeout = d })
}

// WithRestart sets how a crashed child is restarted: after first, then
// twice as long each time up to most, at most max times in a row before the
// plugin is given up (calls then return unavailable for good). A call that
// succeeds resets the count. Defaults: 5, 100ms, 30s. max 0 never restarts.
func WithRestart(max int, first, most time.Duration) clawd.Option {
	return own(func(o *options) { o.maxRestarts, o.backoff, o.maxBackoff = max, first, most })
}

// WithLimits sets the child's resource limits. Default: 4 GiB of address
// space and an hour of CPU time, room for the Go runtime, the plugin and
// its threads; a plugin that spins for an hour of CPU is restarted.
func WithLimits(l Limits) clawd.Option { return own(func(o *options) { o.limits = l }) }

// WithoutLandlock keeps the child's file and network access unrestricted
// (the other limits still apply): for plugins that need more than their
// grants describe, on a host that accepts the risk.
func WithoutLandlock() clawd.Option { return own(func(o *options) { o.noLandlock = true }) }

// defaultMaxProcesses is how many processes and threads a sandboxed plugin
// may create when clawd.WithMaxProcesses (a manifest's max_processes) does
// not say: on Linux a pids cgroup made for the child whose pids.max is the
// bound plus contain.RuntimeTasks, the allowance for the child's own Go
// runtime and protocol threads (the cgroup counts every task of the
// child). A fork past the bound fails with EAGAIN in the plugin. Where no
// cgroup can be made, nothing bounds it and Containment says so.
const defaultMaxProcesses = contain.DefaultMaxProcesses

// maxProcesses is the bound the child gets: clawd.WithMaxProcesses if
// positive, none if negative, defaultMaxProcesses otherwise.
func (o *options) maxProcesses() int {
	switch {
	case o.MaxProcesses > 0:
		return o.MaxProcesses
	case o.MaxProcesses < 0:
		return 0
	}
	return defaultMaxProcesses
}

// benchFloor is set by the package's benchmarks (a test file) and nil in
// every program: the raw transports that the sandbox's round trip is
// measured against, between the same two processes.
var benchFloor interface {
	files() (host, child []*os.File, err error) // the host's ends and the child's, in the child's descriptor order
	serve(n int)                                // in the child: echo on the first n floors
}
