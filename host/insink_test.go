package host_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
)

// Lifecycle work waits for the calls in flight, one of which runs the sink:
// from inside a sink it is refused at once instead of hanging.
func TestLifecycleFromSinkIsRefused(t *testing.T) {
	root := t.TempDir()
	dir := plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"), "network.relay")
	r := newRig(t, host.WithPluginDirs(root))
	got := map[string]error{}
	r.onEvent = func(e clawd.Event) error {
		if e.Method == "echo.on_tool_call" {
			got["load"] = r.h.Load(bg)
			got["add"] = r.h.Add(dir)
			got["reload"] = r.h.Reload("alpha")
			got["close"] = r.h.Close()
		}
		return nil
	}
	require.NoError(t, r.h.Load(bg))
	// A deadlock would keep ToolCall from returning: the test binary's
	// -timeout fails the test then.
	require.NoError(t, host.Errors(r.h.Call(bg, clawd.ToolCall("s1", "grep", "{}"))))
	require.Len(t, got, 4)
	for op, err := range got {
		assert.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(err), op)
		assert.ErrorContains(t, err, "inside an event sink", op)
	}
	info, ok := r.h.Plugin("alpha")
	require.True(t, ok)
	assert.Equal(t, host.StatusActive, info.State, "nothing was stopped")
}
