package loader

import (
	"time"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/runopt"
)

// The loader takes the options of package clawd: clawd.WithLogger (the
// plugin's lines, with fields plugin and version, and the loader's
// warnings), clawd.WithEventSink, clawd.WithCapabilities (network.relay
// allows send_event) and clawd.WithConcurrent. It has no use for the
// directories, the call timeout or the state function (a native call
// cannot be interrupted, and nothing restarts it) and ignores them. Its
// own options follow; they are clawd.Options too, which the other
// runtimes ignore.

// option is what the loader's own options carry (internal/runopt).
type option func(*options)

func own(set option) clawd.Option { return runopt.Wrap[clawd.Option](set) }

type options struct {
	maxFileSize   int64
	loadTimeout   time.Duration
	unloadTimeout time.Duration
}

func ownOptions(opts []clawd.Option) options {
	o := options{loadTimeout: defaultLifecycleTimeout, unloadTimeout: defaultLifecycleTimeout}
	runopt.Each(opts, func(set option) { set(&o) })
	if o.loadTimeout == 0 {
		o.loadTimeout = defaultLifecycleTimeout
	}
	if o.unloadTimeout == 0 {
		o.unloadTimeout = defaultLifecycleTimeout
	}
	return o
}

// WithMaxFileSize sets the largest library file Open accepts, in bytes
// (0, the default: 256 MiB). A larger file is refused with open_failed
// before it is read.
func WithMaxFileSize(n int64) clawd.Option {
	return own(func(o *options) { o.maxFileSize = n })
}

// WithLoadTimeout bounds on_load (0, the default:
// 10 s). An on_load still running then makes Open return timeout; a native
// call cannot be interrupted, so its thread stays blocked in the plugin and
// the library stays mapped for the life of the process. The bounded
// callback runs on a thread of its own; a negative d sets no bound and runs
// it on the caller's thread, for a caller to which the thread matters and
// that bounds the whole process from outside (the sandbox child, whose
// parent kills it).
func WithLoadTimeout(d time.Duration) clawd.Option {
	return own(func(o *options) { o.loadTimeout = d })
}

// WithUnloadTimeout bounds on_unload (0, the default:
// 10 s). An on_unload still running then makes
// Close return timeout, with the same consequences as WithLoadTimeout's;
// a negative d, as there, sets no bound.
func WithUnloadTimeout(d time.Duration) clawd.Option {
	return own(func(o *options) { o.unloadTimeout = d })
}
