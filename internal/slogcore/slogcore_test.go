package slogcore_test

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"

	"github.com/clawd-go/clawd/internal/slogcore"
)

func TestLinesReachTheHandler(t *testing.T) {
	var b bytes.Buffer
	h := slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	log := slogcore.New(h).With(zap.String("plugin", "echo"), zap.String("version", "1.0.0"))
	log.Debug("hidden")
	log.Info("hello", zap.Int("n", 3), zap.Error(errors.New("boom")))
	log.Named("host").Warn("careful")
	log.Error("bad")
	assert.Equal(t, "level=INFO msg=hello plugin=echo version=1.0.0 n=3 error=boom\n"+
		"level=WARN msg=careful plugin=echo version=1.0.0 logger=host\n"+
		"level=ERROR msg=bad plugin=echo version=1.0.0\n", b.String())
	assert.NotNil(t, slogcore.New(nil))
}
