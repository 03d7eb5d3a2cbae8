package host

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/manifest"
)

// Option configures New; the With* functions make them.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

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
	plugin   []clawd.Option // WithPluginOptions
	hooks    hookOptions    // verdict.go
	locks    []string       // lock files (lock.go), absolute
	obs      Observer       // observe.go; nil: dispatch pays nothing
	events   EventObserver  // obs, if it is one
	states   StateObserver  // obs, if it is one
	errs     []error        // options given nonsense; New returns them
}

// defaultDebounce is how long the watcher waits after the last change to a
// plugin's files before it reloads it: long enough for a build or a copy to
// finish writing, short enough to feel immediate.
const defaultDebounce = 200 * time.Millisecond

func defaults() options {
	return options{
		logger: zap.NewNop(),
		// PolicyWarn by default, not manifest's fail-closed zero value: a
		// plugin written for the reference daemon (empty signature) must load.
		trust:    manifest.Trust{Policy: manifest.PolicyWarn},
		debounce: defaultDebounce,
		parallel: defaultParallelThreshold,
	}
}

// WithPluginOptions sets options every plugin is opened with: the one
// door through which the host takes package clawd's options and the
// runtimes' own. Repeated, the lists add up. Of them:
//
//   - clawd.WithLogger (or clawd.WithSlog) is the host's logger too: its
//     own lines and the plugins' (with fields plugin and version);
//   - clawd.WithEventSink receives the events of every plugin, Event.Plugin
//     being the plugin's name in the host (its manifest's); without a sink
//     every send_event is refused with DaemonError;
//   - clawd.WithProjectDir names the project directory: a sandboxed plugin
//     granted fs.read may read it, one granted fs.write may also write it;
//   - a runtime's own options (isolate.WithRestart, isolate.WithLimits,
//     ...) reach the plugins of that runtime and are ignored by the others.
//
// What a manifest decides is the manifest's: an option that sets
// capabilities, hooks, the plugin's directory or source, its identity,
// concurrency, the call timeout, the environment, max processes, the
// memory limit or a state function makes New fail with invalid_argument.
func WithPluginOptions(opts ...clawd.Option) Option {
	return optionFunc(func(o *options) { o.plugin = append(o.plugin, opts...) })
}

// takePluginOptions reads what the host keeps of the plugin options (the
// logger, the sink, the project directory) and refuses those that would
// override a manifest.
func (o *options) takePluginOptions() {
	c := clawd.NewConfig(o.plugin)
	o.logger, o.sink, o.project = c.Logger, c.Sink, c.ProjectDir
	for _, f := range []struct {
		set  bool
		name string
	}{
		{len(c.Capabilities) > 0, "clawd.WithCapabilities (a manifest's capabilities; refuse some with WithCapabilityPolicy)"},
		{len(c.Hooks) > 0, "clawd.WithHooks (a manifest's hooks; refuse some with WithHookPolicy)"},
		{c.PluginDir != "", "clawd.WithPluginDir (the manifest's directory)"},
		{c.Source != "", "clawd.WithSource (the manifest's entry)"},
		{c.Name != "" || c.Version != "", "clawd.WithIdentity (the manifest's name and version)"},
		{c.Concurrent, "clawd.WithConcurrent (a manifest's concurrent)"},
		{c.CallTimeout != 0, "clawd.WithCallTimeout (a manifest's call_timeout_ms)"},
		{len(c.Env) > 0, "clawd.WithEnv (a manifest's env)"},
		{c.MaxProcesses != 0, "clawd.WithMaxProcesses (a manifest's max_processes)"},
		{c.MemoryLimitMB != 0, "clawd.WithMemoryLimitMB (a manifest's memory_limit_mb)"},
		{c.OnState != nil, "clawd.WithStateFunc (the host follows each plugin's state: use WithObserver or Subscribe)"},
	} {
		if f.set {
			o.errs = append(o.errs, clawerr.New(clawerr.InvalidArgument, "", "host.New", "WithPluginOptions: "+f.name+
				" is set per plugin by its manifest, not for every plugin by the host: remove it from WithPluginOptions", nil))
		}
	}
}

// WithPluginDirs sets the directories searched for plugins, each holding one
// subdirectory per plugin (DIR/NAME/plugin.toml or DIR/NAME/clawd-plugin.json).
// Typically a user directory then a project directory. When two directories
// hold a plugin of the same name, the LATER directory wins: the project
// overrides the user, as configuration layers do. Load reports a directory
// that does not exist as not_found and loads the others (with WithWatch it
// is watched for nothing until it is created and Load runs again).
func WithPluginDirs(dirs ...string) Option {
	return optionFunc(func(o *options) { o.dirs = append(o.dirs, dirs...) })
}

// WithTrust sets the keys and the signature policy every library is verified
// with (manifest.Trust.Verify). Default: manifest.PolicyWarn and no keys, so
// an unsigned plugin, such as one written for the reference daemon, loads
// with a warning.
func WithTrust(t manifest.Trust) Option { return optionFunc(func(o *options) { o.trust = t }) }

// WithCapabilityPolicy lets the host refuse capabilities a manifest asks
// for: allow reports whether plugin may have c. A refused capability is not
// granted (the plugin loads without it), is logged, and is listed in
// PluginInfo.Refused. Default: every capability asked for is granted.
// allow is called while plugins load and reload, never during dispatch.
func WithCapabilityPolicy(allow func(plugin string, c abi.Capability) bool) Option {
	return optionFunc(func(o *options) { o.policy = allow })
}

// WithCacheDir sets where verified copies of the libraries are written (one
// subdirectory per plugin; each copy has a unique name and is removed when
// its instance is closed). Default: a private temporary directory that
// Close removes.
func WithCacheDir(dir string) Option { return optionFunc(func(o *options) { o.cacheDir = dir }) }

// WithDebounce sets how long the watcher waits for a plugin's files to stop
// changing before it reloads. Default 200ms; 0 keeps the default.
// A negative d makes New fail with invalid_argument.
func WithDebounce(d time.Duration) Option {
	return optionFunc(func(o *options) {
		switch {
		case d < 0:
			o.refuse("WithDebounce", d, "the debounce must not be negative")
		case d > 0:
			o.debounce = d
		}
	})
}

// refuse records an option given a value that means nothing: New returns it.
func (o *options) refuse(opt string, v any, why string) {
	o.errs = append(o.errs, clawerr.New(clawerr.InvalidArgument, "", "host.New", fmt.Sprintf("%s(%v): %s", opt, v, why), nil))
}

// WithWatch makes the host watch its plugin directories (and every directory
// added with Add) and reload, load or stop plugins as their files change.
// Default: off.
func WithWatch(on bool) Option { return optionFunc(func(o *options) { o.watch = on }) }

// defaultParallelThreshold is the default of WithParallelThreshold.
const defaultParallelThreshold = 50 * time.Microsecond

// WithParallelThreshold sets which plugins a dispatch calls on goroutines of
// their own: those whose previous call took at least d. The others are
// called one after the other on the dispatching goroutine, because for a
// quick plugin a goroutine costs more than the call (measured here: a
// ToolCall to 4 quick plugins takes about 0.5 us in a row and 3 us fanned
// out). A plugin that turns slow is fanned out from its next call on. 0
// fans out every plugin. Default 50us. A negative d
// makes New fail with invalid_argument.
func WithParallelThreshold(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d < 0 {
			o.refuse("WithParallelThreshold", d, "the threshold must not be negative")
			return
		}
		o.parallel = d
	})
}

// WithSandbox sets where plugins run. manifest.SandboxProcess runs every
// plugin in its own child process (package isolate), whatever its manifest
// says. The default, "" or manifest.SandboxNative, lets each manifest
// decide: a plugin whose manifest asks for the process sandbox always gets
// it; the host never moves it into its own process.
func WithSandbox(s manifest.Sandbox) Option { return optionFunc(func(o *options) { o.sandbox = s }) }
