package host_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
)

// A plugin directory that does not exist (a typo) is not_found from Load,
// naming it and the fix, and logged; the directory beside it still loads.
func TestLoadReportsAMissingPluginDirectory(t *testing.T) {
	good := t.TempDir()
	plugin(t, good, "echo", "1.0.0", echo(t, "echo", "1.0.0"))
	missing := filepath.Join(t.TempDir(), "plugnis")
	file := filepath.Join(t.TempDir(), "plugins.txt")
	writeFile(t, file, []byte("not a directory"))
	r := newRig(t, host.WithPluginDirs(missing, good, file))

	err := r.h.Load(bg)
	require.Error(t, err)
	var ce *clawerr.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, clawerr.NotFound, ce.Code)
	assert.Equal(t, missing, ce.Plugin, "the error names the directory")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "does not exist: create it")
	assert.ErrorContains(t, err, file+": load: not_found: the plugin directory is a file")

	got := r.logs.FilterMessage("plugin directory not found").All()
	require.Len(t, got, 2, "each missing directory is logged once")
	assert.Equal(t, missing, got[0].ContextMap()["dir"])
	assert.Equal(t, "not_found", got[0].ContextMap()["code"])
	assert.Equal(t, file, got[1].ContextMap()["dir"])

	assert.Equal(t, []string{"echo"}, names(r.h.Plugins()))
	assert.Equal(t, host.StatusActive, info(t, r.h, "echo").State, "the other directory loads all the same")

	// Every directory there: Load has nothing to say.
	r2 := newRig(t, host.WithPluginDirs(good))
	require.NoError(t, r2.h.Load(bg))
}

// Reload of a name nobody knows is a not_found *clawerr.Error naming the
// plugin, and still ErrUnknownPlugin.
func TestReloadOfAnUnknownPluginHasACode(t *testing.T) {
	r := newRig(t)
	err := r.h.Reload("nobody")
	require.Error(t, err)
	assert.ErrorIs(t, err, host.ErrUnknownPlugin)
	assert.ErrorIs(t, err, clawerr.NotFound)
	assert.Equal(t, clawerr.NotFound, clawerr.CodeOf(err))
	var ce *clawerr.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "nobody", ce.Plugin)
	assert.Equal(t, "clawd: nobody: reload: not_found: no plugin of that name in the plugin directories or added: check the name against Plugins(), or Add its directory", err.Error())

	// The sentinel itself carries the code, and is no other error.
	assert.Equal(t, clawerr.NotFound, clawerr.CodeOf(host.ErrUnknownPlugin))
	assert.False(t, errors.Is(clawerr.New(clawerr.NotFound, "nobody", "reload", "", nil), host.ErrUnknownPlugin))
}

// A dispatch whose input_json or content_json is not JSON reaches no
// plugin: every plugin's outcome is invalid_argument, in process (one
// batch) and in the sandbox alike; the same strings as JSON then reach
// them all.
func TestDispatchRefusesInputThatIsNotJSON(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"a", "b", "c"} {
		plugin(t, root, n, "1.0.0", echo(t, n, "1.0.0"), "network.relay")
	}
	sandboxed(t, root, "d", echo(t, "d", "1.0.0"), "", "network.relay")
	r := newRig(t, host.WithPluginDirs(root))
	require.NoError(t, r.h.Load(bg))
	require.Equal(t, host.StatusActive, info(t, r.h, "d").State)
	r.takeEvents() // on_load's

	for _, outs := range [][]host.Outcome{
		r.h.Call(bg, clawd.ToolCall("s1", "grep", `{"pattern":`)),
		r.h.Call(bg, clawd.ToolCall("s1", "grep", `pattern=x`)),
		r.h.Call(bg, clawd.Message("s1", "user", `hello`)),
	} {
		require.Equal(t, []string{"a", "b", "c", "d"}, outcomeNames(outs))
		for _, o := range outs {
			assert.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(o.Err), o.Plugin)
			assert.ErrorIs(t, o.Err, clawd.ErrNotJSON, o.Plugin)
			assert.ErrorContains(t, o.Err, "clawd: "+o.Plugin+": ")
		}
	}
	assert.Empty(t, r.takeEvents(), "no plugin was called")

	outs := r.h.Call(bg, clawd.ToolCall("s1", "grep", `{"pattern":"x"}`))
	require.NoError(t, host.Errors(outs))
	assert.Len(t, r.takeEvents(), 4)
}
