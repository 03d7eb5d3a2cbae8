package clawd

import (
	"log/slog"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd/internal/runopt"
	"github.com/clawd-go/clawd/internal/slogcore"

	"github.com/clawd-go/clawd/abi"
)

// Option configures the opening of a plugin, by any runtime.
type Option interface {
	apply(*Config)
}

// Config is what the shared options set. Runtimes read it with
// NewConfig; a setting that a runtime has no use for is ignored by it (and
// its doc says so).
type Config struct {
	Logger        *zap.Logger        // never nil after NewConfig: zap.NewNop by default
	Sink          Sink               // nil: every event is refused with DaemonError
	Capabilities  []abi.Capability   // granted to the plugin
	PluginDir     string             // the plugin's own directory (its manifest's)
	ProjectDir    string             // the directory that fs.read and fs.write open
	Concurrent    bool               // calls may run in parallel (the native runtime)
	CallTimeout   time.Duration      // the longest a call may take when ctx has no earlier deadline
	OnState       func(State, error) // told of a supervised plugin's state changes
	Env           []string           // for a sandboxed plugin: "NAME=VALUE", or "NAME" for the host's value
	MaxProcesses  int                // for a sandboxed plugin: processes and threads; 0: the runtime's default
	MemoryLimitMB int                // for a WebAssembly guest: its linear memory cap in MiB; 0: the runtime's default
	Hooks         []HookPoint        // hook points granted (WithHooks)
	Source        string             // the file the library was verified from, when the path opened is a copy
	Name          string             // the name the host knows the plugin by (a manifest's); "": the library's own
	Version       string             // the version that goes with Name, where the library has none
}

// Granted reports whether capability c is granted.
func (c *Config) Granted(cap abi.Capability) bool {
	for _, g := range c.Capabilities {
		if g == cap {
			return true
		}
	}
	return false
}

// NewConfig applies opts in order to the defaults.
func NewConfig(opts []Option) Config {
	var c Config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	// No caller and no stack trace on a plugin's lines or a runtime's: they
	// would point into this module's machinery, never at the plugin or the
	// program that logs (a development logger adds both from Warn on).
	c.Logger = c.Logger.WithOptions(zap.WithCaller(false), zap.AddStacktrace(zapcore.InvalidLevel))
	return c
}

type optionFunc func(*Config)

func (f optionFunc) apply(c *Config) { f(c) }

// runtimeOption carries a runtime package's own setting (its With*
// functions make them through internal/runopt): NewConfig skips it, and
// the runtime finds its own among the options by the type of v.
type runtimeOption struct{ v any }

func (runtimeOption) apply(*Config) {}

func init() {
	runopt.Install(func(v any) any { return runtimeOption{v} }, func(o any) (any, bool) {
		r, ok := o.(runtimeOption)
		return r.v, ok
	})
}

// WithLogger sets the logger of the plugin's log lines (with fields
// plugin and version) and of the runtime's own messages.
func WithLogger(l *zap.Logger) Option { return optionFunc(func(c *Config) { c.Logger = l }) }

// WithSlog is WithLogger for a program that logs with log/slog: the
// plugin's log lines and the runtime's own messages go to l's handler, with
// the same fields as attributes (plugin, version, ...). Of WithSlog and
// WithLogger the later wins. (The module logs through zap, allocation-free
// when a level is off; only a host that asks for slog pays the conversion.)
func WithSlog(l *slog.Logger) Option {
	if l == nil {
		return WithLogger(nil)
	}
	return WithLogger(slogcore.New(l.Handler()))
}

// WithEventSink sets where the plugin's send_event calls go.
func WithEventSink(s Sink) Option { return optionFunc(func(c *Config) { c.Sink = s }) }

// WithCapabilities grants capabilities: network.relay allows send_event;
// in the process sandbox fs.read opens the project directory read-only to
// the plugin and fs.write read-write. Repeated, the lists add up.
func WithCapabilities(caps ...abi.Capability) Option {
	return optionFunc(func(c *Config) { c.Capabilities = append(c.Capabilities, caps...) })
}

// WithPluginDir names the plugin's own directory, which a sandboxed plugin
// may read. The directory of the library itself is always readable.
func WithPluginDir(dir string) Option { return optionFunc(func(c *Config) { c.PluginDir = dir }) }

// WithSource names the file the library was verified from when the path
// opened is a private copy of it (as package host opens): a plugin that
// left its name NULL is named after this file's stem, and errors name this
// file, not the copy.
func WithSource(path string) Option { return optionFunc(func(c *Config) { c.Source = path }) }

// WithIdentity sets the name and version the host knows the plugin by (a
// manifest's): the plugin's log lines carry them as fields plugin and
// version, and its events as Event.Plugin and Event.Version, so that logs,
// events and outcomes name the plugin one way. The library's own version
// wins over version where it has one (a new build announces itself); when
// the library calls itself something else, its log lines keep that name as
// field library. An empty name keeps the library's own identity.
func WithIdentity(name, version string) Option {
	return optionFunc(func(c *Config) { c.Name, c.Version = name, version })
}

// WithProjectDir names the project directory that fs.read and fs.write
// open to a sandboxed plugin. Default: none.
func WithProjectDir(dir string) Option { return optionFunc(func(c *Config) { c.ProjectDir = dir }) }

// WithConcurrent lets calls into the plugin run in parallel (a manifest's
// concurrent = true). Default: calls into one plugin are serialized. The
// process sandbox always serializes.
func WithConcurrent(on bool) Option { return optionFunc(func(c *Config) { c.Concurrent = on }) }

// WithCallTimeout sets the longest a call may take when its context has no
// earlier deadline (a manifest's call_timeout_ms). The process sandbox
// kills a child that overruns and returns timeout; a native call cannot be
// interrupted, so the native runtime ignores it. 0: only the context's.
func WithCallTimeout(d time.Duration) Option {
	return optionFunc(func(c *Config) { c.CallTimeout = d })
}

// WithStateFunc sets a function told of every state change of a
// supervised plugin: StateDown with the crash, StateUp after a restart,
// StateFailed when restarts are given up (Close is not reported). The
// changes come in order and none is dropped, on a goroutine of their own,
// never inside a call, so the function may call into the plugin; Close
// returns once those reported before it were delivered, so the function
// must not wait for the plugin's Close. Runtimes that do not supervise
// (the native one) ignore it.
func WithStateFunc(f func(State, error)) Option {
	return optionFunc(func(c *Config) { c.OnState = f })
}

// WithEnv passes environment variables to a sandboxed plugin, which
// otherwise sees only an allowlist (PATH, LANG, LC_*, TZ, the Go runtime's
// settings and a private HOME): "NAME=VALUE" sets NAME, "NAME" passes the
// host's value if it has one (a manifest's env). A native plugin shares
// the host's environment and ignores it.
func WithEnv(entries ...string) Option {
	return optionFunc(func(c *Config) { c.Env = append(c.Env, entries...) })
}

// WithMaxProcesses bounds the processes and threads a sandboxed plugin may
// run (a manifest's max_processes): 0 keeps the runtime's default (64 for
// the process sandbox), a negative n sets no bound. A native plugin
// ignores it.
func WithMaxProcesses(n int) Option { return optionFunc(func(c *Config) { c.MaxProcesses = n }) }

// WithHooks grants hook points: the plugin may give verdicts during those
// callbacks (see Hooker). Without it every hook.* event is refused with
// NotFound. Repeated, the lists add up.
func WithHooks(points ...HookPoint) Option {
	return optionFunc(func(c *Config) { c.Hooks = append(c.Hooks, points...) })
}

// Hooked reports whether the hook point of op is granted.
func (c *Config) Hooked(op Op) bool {
	hp, ok := hookPointOf(op)
	if !ok {
		return false
	}
	for _, g := range c.Hooks {
		if g == hp {
			return true
		}
	}
	return false
}

// WithMemoryLimitMB caps a WebAssembly guest's linear memory at mb MiB (a
// manifest's memory_limit_mb; at most 4096, the wasm32 maximum; 0 or
// unset: the wasm runtime's default, 256). A memory.grow past it fails in
// the guest (malloc returns NULL); a module whose initial memory is
// larger is refused with open_failed. The other runtimes ignore it: a
// native library's memory is its process's.
func WithMemoryLimitMB(mb int) Option {
	return optionFunc(func(c *Config) { c.MemoryLimitMB = mb })
}
