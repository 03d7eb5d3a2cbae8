// Package wasmopt is the wasm runtime's own settings: their defaults, how
// they are read from a list of clawd.Options, and what they grant a
// guest. The runtime (package wasm) and the inspect verb both read them
// here, so that what inspect shows is what Open does.
package wasmopt

import (
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/runopt"
)

// DefaultMemoryLimitMB is the guest's memory cap when neither the manifest
// (memory_limit_mb) nor clawd.WithMemoryLimitMB sets one.
const DefaultMemoryLimitMB = 256

// DefaultLoadTimeout bounds the compile, instantiation, clawd_plugin_init
// and on_load unless wasm.WithLoadTimeout says otherwise.
const DefaultLoadTimeout = 10 * time.Second

// DefaultPoolSize is how many instances a concurrent plugin may have at
// once unless wasm.WithPoolSize says otherwise: GOMAXPROCS, as more
// instances than threads running Go buy no parallelism, only memory (each
// instance has its own linear memory, up to the cap).
func DefaultPoolSize() int { return runtime.GOMAXPROCS(0) }

// DefaultCacheDir is where compiled modules are kept unless
// wasm.WithCacheDir says otherwise: clawd/wasm under os.UserCacheDir, or
// "" (no cache) when the user has no cache directory.
func DefaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil || d == "" {
		return ""
	}
	return filepath.Join(d, "clawd", "wasm")
}

// Settings are the wasm runtime's own settings.
type Settings struct {
	MemoryLimitMB int
	CacheDir      string
	CacheSet      bool // CacheDir was set (to "" too: no cache)
	LoadTimeout   time.Duration
	NoDeadlines   bool
	MaxFileSize   int64
	PoolSize      int
}

// set is what the wasm runtime's own options carry (internal/runopt).
type set func(*Settings)

// Option returns a clawd.Option that applies f to the Settings.
func Option(f func(*Settings)) clawd.Option { return runopt.Wrap[clawd.Option](set(f)) }

// Read reads opts as Open does: the options every runtime shares, and the
// wasm runtime's own, over the defaults. clawd.WithMemoryLimitMB sets the
// guest's memory cap (default DefaultMemoryLimitMB; at most 4096, the
// wasm32 maximum, which Open checks).
func Read(opts []clawd.Option) (clawd.Config, Settings) {
	cfg := clawd.NewConfig(opts)
	s := Settings{MemoryLimitMB: DefaultMemoryLimitMB, LoadTimeout: DefaultLoadTimeout, PoolSize: DefaultPoolSize()}
	runopt.Each(opts, func(f set) { f(&s) })
	if !s.CacheSet {
		s.CacheDir = DefaultCacheDir()
	}
	if cfg.MemoryLimitMB != 0 {
		s.MemoryLimitMB = cfg.MemoryLimitMB
	}
	return cfg, s
}
