package wasm_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/wasm"
)

func TestSmoke(t *testing.T) {
	mod := cbuildWasm(t, "echo")
	core, logs := observer.New(zapcore.DebugLevel)
	var evs []clawd.Event
	p, err := wasm.Open(mod, clawd.WithLogger(zap.New(core)), clawd.WithCapabilities(abi.CapNetworkRelay),
		clawd.WithEventSink(clawd.SinkFunc(func(ctx context.Context, e clawd.Event) error { evs = append(evs, e); return nil })))
	require.NoError(t, err)
	require.NoError(t, p.Call(context.Background(), clawd.ToolCall("s1", "grep", `{"q":1}`)))
	for _, e := range logs.All() {
		t.Log(e.Message, e.Context)
	}
	t.Log(evs)
	require.NoError(t, p.Close())
}
