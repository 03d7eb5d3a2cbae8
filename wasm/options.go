package wasm

import (
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/clawd-go/clawd"
)

// The wasm runtime takes the options of package clawd: clawd.WithLogger,
// clawd.WithEventSink, clawd.WithCapabilities (network.relay allows
// send_event; fs.read and fs.write mount the project directory),
// clawd.WithProjectDir, clawd.WithCallTimeout, clawd.WithMemoryLimitMB
// (the guest's linear memory cap), clawd.WithStateFunc,
// clawd.WithIdentity, clawd.WithSource (what a module that names itself
// nothing is called) and clawd.WithEnv (the guest's WASI environment:
// "NAME=VALUE", or "NAME" for the host's value). clawd.WithConcurrent
// gives the plugin a pool of instances (WithPoolSize); without it calls
// are serialized into one. Its own options follow; they are clawd.Options
// too, and the other runtimes ignore them.

// DefaultMemoryLimitMB is the guest's memory cap when neither the manifest
// (memory_limit_mb) nor WithMemoryLimitMB sets one.
const DefaultMemoryLimitMB = 256

// DefaultLoadTimeout bounds the compile, instantiation, clawd_plugin_init
// and on_load.
const DefaultLoadTimeout = 10 * time.Second

// Option is one of the wasm runtime's own options.
type Option struct {
	clawd.RuntimeOption
	set func(*options)
}

type options struct {
	memoryLimitMB int
	cacheDir      string
	cacheSet      bool
	loadTimeout   time.Duration
	noDeadlines   bool
	maxFileSize   int64
	poolSize      int
}

func ownOptions(opts []clawd.Option) options {
	o := options{memoryLimitMB: DefaultMemoryLimitMB, loadTimeout: DefaultLoadTimeout, poolSize: DefaultPoolSize()}
	for _, opt := range opts {
		if own, ok := opt.(Option); ok && own.set != nil {
			own.set(&o)
		}
	}
	if !o.cacheSet {
		o.cacheDir = DefaultCacheDir()
	}
	return o
}

// configure reads opts: the options every runtime shares, and this
// package's own. clawd.WithMemoryLimitMB sets the guest's memory cap
// (default DefaultMemoryLimitMB; at most 4096, the wasm32 maximum).
func configure(opts []clawd.Option) (clawd.Config, options) {
	cfg, own := clawd.NewConfig(opts), ownOptions(opts)
	if cfg.MemoryLimitMB != 0 {
		own.memoryLimitMB = cfg.MemoryLimitMB
	}
	return cfg, own
}

// WithCacheDir keeps compiled modules in dir (created if missing) instead
// of DefaultCacheDir(); "" disables the cache: every Open compiles.
func WithCacheDir(dir string) Option {
	return Option{set: func(o *options) { o.cacheDir, o.cacheSet = dir, true }}
}

// WithLoadTimeout bounds the compile, instantiation, clawd_plugin_init
// and on_load, at Open (one deadline for all) and at every
// re-instantiation (default DefaultLoadTimeout). Past it the load fails
// with timeout; a compile past it is abandoned (see the package doc).
func WithLoadTimeout(d time.Duration) Option {
	return Option{set: func(o *options) { o.loadTimeout = d }}
}

// WithDeadlines(false) compiles the module as it is, without the checks
// that interrupt it: a call is then refused before it starts if its
// context is done, but never interrupted in the guest's own code, as in
// the native runtime (a WASI sleep still ends at the call's deadline).
// The default (true) instruments the module before it compiles: a check
// at every function entry and loop head of a flag that one watchdog for
// the process sets at the call's deadline (package doc, Cost). Either way
// a call allocates nothing.
func WithDeadlines(on bool) Option {
	return Option{set: func(o *options) { o.noDeadlines = !on }}
}

// DefaultPoolSize is how many instances a concurrent plugin may have at
// once unless WithPoolSize says otherwise: GOMAXPROCS, as more instances
// than threads running Go buy no parallelism, only memory (each instance
// has its own linear memory, up to the cap).
func DefaultPoolSize() int { return runtime.GOMAXPROCS(0) }

// WithPoolSize bounds the instances of a concurrent plugin
// (clawd.WithConcurrent, the manifest's concurrent = true) at n (at least
// 1; default DefaultPoolSize). Instances are made when calls need them,
// not up front; a call that finds all n busy waits for one (or for its
// context). A serialized plugin has one instance whatever n is.
func WithPoolSize(n int) Option {
	return Option{set: func(o *options) { o.poolSize = n }}
}

// WithMaxFileSize sets the largest module file Open accepts, in bytes
// (0, the default: 256 MiB).
func WithMaxFileSize(n int64) Option {
	return Option{set: func(o *options) { o.maxFileSize = n }}
}

// DefaultCacheDir is where compiled modules are kept unless WithCacheDir
// says otherwise: clawd/wasm under os.UserCacheDir, or "" (no cache) when
// the user has no cache directory.
func DefaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil || d == "" {
		return ""
	}
	return filepath.Join(d, "clawd", "wasm")
}
