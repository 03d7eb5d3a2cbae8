package host_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
)

// What a manifest decides cannot come in through WithPluginOptions: New
// refuses it, naming the option, instead of granting it to every plugin.
func TestPluginOptionsRefuseWhatAManifestDecides(t *testing.T) {
	for _, c := range []struct {
		opt  clawd.Option
		name string
	}{
		{clawd.WithCapabilities(abi.CapNetworkRelay), "clawd.WithCapabilities"},
		{clawd.WithHooks(clawd.HookToolCall), "clawd.WithHooks"},
		{clawd.WithPluginDir("x"), "clawd.WithPluginDir"},
		{clawd.WithSource("x"), "clawd.WithSource"},
		{clawd.WithIdentity("x", "1.0.0"), "clawd.WithIdentity"},
		{clawd.WithConcurrent(true), "clawd.WithConcurrent"},
		{clawd.WithCallTimeout(time.Second), "clawd.WithCallTimeout"},
		{clawd.WithEnv("A=b"), "clawd.WithEnv"},
		{clawd.WithMaxProcesses(3), "clawd.WithMaxProcesses"},
		{clawd.WithMemoryLimitMB(16), "clawd.WithMemoryLimitMB"},
		{clawd.WithStateFunc(func(clawd.State, error) {}), "clawd.WithStateFunc"},
	} {
		h, err := host.New(host.WithPluginOptions(clawd.WithProjectDir(t.TempDir()), c.opt))
		assert.Nil(t, h, c.name)
		assert.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(err), c.name)
		assert.ErrorContains(t, err, "WithPluginOptions: "+c.name, c.name)
	}
	h, err := host.New(host.WithPluginOptions(clawd.WithProjectDir(t.TempDir()), clawd.WithSlog(nil)))
	require.NoError(t, err, "the logger and the project directory are the host's to give")
	require.NoError(t, h.Close())
}

// Hook offers only the calls that give a verdict: a session_start goes to
// no plugin and gives Continue, while Call makes it.
func TestHookOfACallThatGivesNoVerdict(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "a", "1.0.0", echo(t, "a", "1.0.0"))
	r := newRig(t, host.WithPluginDirs(root))
	require.NoError(t, r.h.Load(bg))
	r.takeEvents()

	v, outs := r.h.Hook(bg, clawd.SessionStart("s1"))
	assert.Equal(t, clawd.Verdict{}, v)
	assert.Empty(t, outs)
	assert.Equal(t, []string{"a"}, outcomeNames(r.h.Call(bg, clawd.SessionStart("s1"))))
	v, outs = r.h.Hook(bg, clawd.ToolCall("s1", "grep", `{}`))
	assert.Equal(t, clawd.Continue, v.Kind)
	require.Len(t, outs, 1, "a tool call is offered to the plugin")
	assert.Equal(t, "a", outs[0].Plugin)
}
