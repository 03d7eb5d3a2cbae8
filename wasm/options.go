package wasm

import (
	"time"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/wasmopt"
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

// WithCacheDir keeps compiled modules in dir (created if missing) instead
// of the default, clawd/wasm under os.UserCacheDir (none when the user has
// no cache directory); "" disables the cache: every Open compiles.
func WithCacheDir(dir string) clawd.Option {
	return wasmopt.Option(func(o *wasmopt.Settings) { o.CacheDir, o.CacheSet = dir, true })
}

// WithLoadTimeout bounds the compile, instantiation, clawd_plugin_init
// and on_load, at Open (one deadline for all) and at every
// re-instantiation (default 10s). Past it the load fails
// with timeout; a compile past it is abandoned (see the package doc).
func WithLoadTimeout(d time.Duration) clawd.Option {
	return wasmopt.Option(func(o *wasmopt.Settings) { o.LoadTimeout = d })
}

// WithDeadlines(false) compiles the module as it is, without the checks
// that interrupt it: a call is then refused before it starts if its
// context is done, but never interrupted in the guest's own code, as in
// the native runtime (a WASI sleep still ends at the call's deadline).
// The default (true) instruments the module before it compiles: a check
// at every function entry and loop head of a flag that one watchdog for
// the process sets at the call's deadline (package doc, Cost). Either way
// a call allocates nothing.
func WithDeadlines(on bool) clawd.Option {
	return wasmopt.Option(func(o *wasmopt.Settings) { o.NoDeadlines = !on })
}

// WithPoolSize bounds the instances of a concurrent plugin
// (clawd.WithConcurrent, the manifest's concurrent = true) at n (at least
// 1; default GOMAXPROCS, as more instances than threads running Go buy no
// parallelism, only memory). Instances are made when calls need them,
// not up front; a call that finds all n busy waits for one (or for its
// context). A serialized plugin has one instance whatever n is.
func WithPoolSize(n int) clawd.Option {
	return wasmopt.Option(func(o *wasmopt.Settings) { o.PoolSize = n })
}

// WithMaxFileSize sets the largest module file Open accepts, in bytes
// (0, the default: 256 MiB).
func WithMaxFileSize(n int64) clawd.Option {
	return wasmopt.Option(func(o *wasmopt.Settings) { o.MaxFileSize = n })
}
