package loader

import (
	"go.uber.org/zap"

	"github.com/clawd-go/clawd/abi"
	clawctx "github.com/clawd-go/clawd/context"
)

// Option configures Open.
type Option func(*options)

type options struct {
	logger      *zap.Logger
	sink        clawctx.Sink
	caps        []abi.Capability
	concurrent  bool
	maxFileSize int64
}

// WithLogger sets the logger that receives the plugin's log lines (with
// fields plugin and version) and the loader's warnings. Default: none.
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.logger = l } }

// WithEventSink sets where the plugin's send_event calls go. Without a sink
// every event is refused with DaemonError.
func WithEventSink(s clawctx.Sink) Option { return func(o *options) { o.sink = s } }

// WithCapabilities grants capabilities; network.relay allows send_event.
func WithCapabilities(caps ...abi.Capability) Option {
	return func(o *options) { o.caps = append(o.caps, caps...) }
}

// WithConcurrent lets calls into the plugin run in parallel. Only for a
// plugin whose manifest says concurrent = true.
func WithConcurrent(on bool) Option { return func(o *options) { o.concurrent = on } }

// WithMaxFileSize sets the largest library file Open accepts, in bytes
// (0, the default: 256 MiB). A larger file is refused with open_failed
// before it is read.
func WithMaxFileSize(n int64) Option { return func(o *options) { o.maxFileSize = n } }
