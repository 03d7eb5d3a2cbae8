// Package slogcore is a zapcore.Core that writes to a log/slog Handler, so
// a host that logs with slog gets the plugins' lines (and the runtime's)
// through its own handler: clawd.WithSlog, given to a runtime or to the
// host through host.WithPluginOptions.
//
// The direction, zap over slog and not the reverse, keeps one logging path
// inside the module: every runtime logs through zap, allocation-free when a
// level is off, and only a host that asks for slog pays the conversion.
package slogcore

import (
	"context"
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a zap logger whose lines go to h. A nil h gives zap.NewNop.
func New(h slog.Handler) *zap.Logger {
	if h == nil {
		return zap.NewNop()
	}
	return zap.New(&core{h: h})
}

type core struct {
	h slog.Handler
}

// Level maps a zap level to slog's: Debug, Info, Warn, and Error for
// Error and above.
func Level(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	}
	return slog.LevelError
}

func (c *core) Enabled(l zapcore.Level) bool { return c.h.Enabled(context.Background(), Level(l)) }

func (c *core) With(fs []zapcore.Field) zapcore.Core {
	if len(fs) == 0 {
		return c
	}
	return &core{h: c.h.WithAttrs(attrs(fs))}
}

func (c *core) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *core) Write(e zapcore.Entry, fs []zapcore.Field) error {
	r := slog.NewRecord(e.Time, Level(e.Level), e.Message, 0)
	if e.LoggerName != "" {
		r.AddAttrs(slog.String("logger", e.LoggerName))
	}
	r.AddAttrs(attrs(fs)...)
	return c.h.Handle(context.Background(), r)
}

func (c *core) Sync() error { return nil }

// attrs turns zap fields into slog attributes, in order.
func attrs(fs []zapcore.Field) []slog.Attr {
	out := make([]slog.Attr, 0, len(fs))
	for _, f := range fs {
		enc := zapcore.NewMapObjectEncoder()
		f.AddTo(enc)
		for k, v := range enc.Fields {
			out = append(out, slog.Any(k, v))
		}
	}
	return out
}
