package host

import (
	"fmt"
	"log/slog"
	"time"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/slogcore"
	"github.com/clawd-go/clawd/manifest"
)

// Option configures New.
type Option func(*options)

type options struct {
	logger   *zap.Logger
	sink     clawd.Sink
	dirs     []string
	trust    manifest.Trust
	policy   func(plugin string, c abi.Capability) bool
	cacheDir string
	debounce time.Duration
	watch    bool
	parallel time.Duration
	sandbox  manifest.Sandbox
	project  string
	isolate  []clawd.Option
	hooks    hookOptions   // verdict.go
	locks    []string      // lock files (lock.go), absolute
	obs      Observer      // observe.go; nil: dispatch pays nothing
	events   EventObserver // obs, if it is one
	states   StateObserver // obs, if it is one
	errs     []error       // options given nonsense; New returns them
}

// DefaultDebounce is how long the watcher waits after the last change to a
// plugin's files before it reloads it: long enough for a build or a copy to
// finish writing, short enough to feel immediate.
const DefaultDebounce = 200 * time.Millisecond

func defaults() options {
	return options{
		logger: zap.NewNop(),
		// PolicyWarn by default, not manifest's fail-closed zero value: a
		// plugin written for the reference daemon (empty signature) must load.
		trust:    manifest.Trust{Policy: manifest.PolicyWarn},
		debounce: DefaultDebounce,
		parallel: DefaultParallelThreshold,
	}
}

// WithLogger sets the logger for the host's own lines and the plugins' log
// lines (with fields plugin and version). Default: none.
func WithLogger(l *zap.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithSlog is WithLogger for a program that logs with log/slog: the host's
// lines and the plugins' go to l's handler, their fields as attributes.
// Of WithSlog and WithLogger the later wins.
func WithSlog(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = slogcore.New(l.Handler())
		}
	}
}

// WithEventSink sets where the events of every plugin go. Event.Plugin is the
// plugin's name in the host (its manifest name). Without a sink every
// send_event is refused with DaemonError, as in package loader.
func WithEventSink(s clawd.Sink) Option { return func(o *options) { o.sink = s } }

// WithPluginDirs sets the directories searched for plugins, each holding one
// subdirectory per plugin (DIR/NAME/plugin.toml or DIR/NAME/clawd-plugin.json).
// Typically a user directory then a project directory. When two directories
// hold a plugin of the same name, the LATER directory wins: the project
// overrides the user, as configuration layers do. Load reports a directory
// that does not exist as not_found and loads the others (with WithWatch it
// is watched for nothing until it is created and Load runs again).
func WithPluginDirs(dirs ...string) Option {
	return func(o *options) { o.dirs = append(o.dirs, dirs...) }
}

// WithTrust sets the keys and the signature policy every library is verified
// with (manifest.Trust.Verify). Default: manifest.PolicyWarn and no keys, so
// an unsigned plugin, such as one written for the reference daemon, loads
// with a warning.
func WithTrust(t manifest.Trust) Option { return func(o *options) { o.trust = t } }

// WithCapabilityPolicy lets the host refuse capabilities a manifest asks
// for: allow reports whether plugin may have c. A refused capability is not
// granted (the plugin loads without it), is logged, and is listed in
// PluginInfo.Refused. Default: every capability asked for is granted.
// allow is called while plugins load and reload, never during dispatch.
func WithCapabilityPolicy(allow func(plugin string, c abi.Capability) bool) Option {
	return func(o *options) { o.policy = allow }
}

// WithCacheDir sets where verified copies of the libraries are written (one
// subdirectory per plugin; each copy has a unique name and is removed when
// its instance is closed). Default: a private temporary directory that
// Close removes.
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithDebounce sets how long the watcher waits for a plugin's files to stop
// changing before it reloads. Default DefaultDebounce; 0 keeps the default.
// A negative d makes New fail with invalid_argument.
func WithDebounce(d time.Duration) Option {
	return func(o *options) {
		switch {
		case d < 0:
			o.refuse("WithDebounce", d, "the debounce must not be negative")
		case d > 0:
			o.debounce = d
		}
	}
}

// refuse records an option given a value that means nothing: New returns it.
func (o *options) refuse(opt string, v any, why string) {
	o.errs = append(o.errs, clawerr.New(clawerr.InvalidArgument, "", "host.New", fmt.Sprintf("%s(%v): %s", opt, v, why), nil))
}

// WithWatch makes the host watch its plugin directories (and every directory
// added with Add) and reload, load or stop plugins as their files change.
// Default: off.
func WithWatch(on bool) Option { return func(o *options) { o.watch = on } }

// DefaultParallelThreshold is the default of WithParallelThreshold.
const DefaultParallelThreshold = 50 * time.Microsecond

// WithParallelThreshold sets which plugins a dispatch calls on goroutines of
// their own: those whose previous call took at least d. The others are
// called one after the other on the dispatching goroutine, because for a
// quick plugin a goroutine costs more than the call (measured here: a
// ToolCall to 4 quick plugins takes about 0.5 us in a row and 3 us fanned
// out). A plugin that turns slow is fanned out from its next call on. 0
// fans out every plugin. Default DefaultParallelThreshold. A negative d
// makes New fail with invalid_argument.
func WithParallelThreshold(d time.Duration) Option {
	return func(o *options) {
		if d < 0 {
			o.refuse("WithParallelThreshold", d, "the threshold must not be negative")
			return
		}
		o.parallel = d
	}
}

// WithSandbox sets where plugins run. manifest.SandboxProcess runs every
// plugin in its own child process (package isolate), whatever its manifest
// says. The default, "" or manifest.SandboxNative, lets each manifest
// decide: a plugin whose manifest asks for the process sandbox always gets
// it; the host never moves it into its own process.
func WithSandbox(s manifest.Sandbox) Option { return func(o *options) { o.sandbox = s } }

// WithProjectDir names the project directory: a sandboxed plugin granted
// fs.read may read it, one granted fs.write may also write it, and neither
// may touch other files (Linux, with Landlock). Default: none.
func WithProjectDir(dir string) Option { return func(o *options) { o.project = dir } }

// WithSandboxOptions adds options for every sandboxed plugin, after the
// host's own (logger, sink, capabilities, directories, the manifest's call
// timeout): limits, restarts, the child executable.
func WithSandboxOptions(opts ...clawd.Option) Option {
	return func(o *options) { o.isolate = append(o.isolate, opts...) }
}
