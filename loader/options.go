package loader

import (
	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/clawctx"
	"github.com/clawd-go/clawd/internal/vtable"
)

// The loader takes the options of package clawd: clawd.WithLogger (the
// plugin's lines, with fields plugin and version, and the loader's
// warnings), clawd.WithEventSink, clawd.WithCapabilities (network.relay
// allows send_event) and clawd.WithConcurrent. It has no use for the
// directories, the call timeout or the state function (a native call
// cannot be interrupted, and nothing restarts it) and ignores them. Its
// own options follow; they are clawd.Options too.

// Option is one of the loader's own options.
type Option struct {
	clawd.RuntimeOption
	set func(*options)
}

type options struct {
	maxFileSize int64
}

func ownOptions(opts []clawd.Option) options {
	var o options
	for _, opt := range opts {
		if own, ok := opt.(Option); ok && own.set != nil {
			own.set(&o)
		}
	}
	return o
}

// WithMaxFileSize sets the largest library file Open accepts, in bytes
// (0, the default: 256 MiB). A larger file is refused with open_failed
// before it is read.
func WithMaxFileSize(n int64) Option {
	return Option{set: func(o *options) { o.maxFileSize = n }}
}

// How this build reaches plugins: "cgo" (a C shim for calls, //export
// trampolines) or "purego" (no C compiler needed, at a higher cost).
const (
	CallPath       = vtable.Path
	TrampolinePath = clawctx.TrampolinePath
)
