package host_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/clawd-go/clawd"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/manifest"
)

// Add of a directory that does not exist says so and adds nothing; one
// that holds no manifest fails with manifest_invalid.
func TestAddRefusesWhatIsNoPluginDirectory(t *testing.T) {
	h, err := host.New()
	require.NoError(t, err)
	defer h.Close()

	missing := filepath.Join(t.TempDir(), "nonexistent")
	err = h.Add(missing)
	require.Error(t, err)
	assert.Equal(t, clawerr.ManifestInvalid, clawerr.CodeOf(err))
	assert.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
	assert.Contains(t, err.Error(), missing)

	empty := t.TempDir()
	err = h.Add(empty)
	require.Error(t, err)
	assert.Equal(t, clawerr.ManifestInvalid, clawerr.CodeOf(err))
	assert.Contains(t, err.Error(), "no plugin.toml or clawd-plugin.json")
	require.Len(t, h.Plugins(), 1, "the directory without a manifest is a failed row; the missing one is not")
	assert.Equal(t, host.StatusFailed, h.Plugins()[0].State)
}

// Options given nonsense make New fail, naming the option and the value.
func TestNewRefusesNonsenseOptions(t *testing.T) {
	for _, c := range []struct {
		opt  host.Option
		want string
	}{
		{host.WithDebounce(-1), "WithDebounce(-1ns): the debounce must not be negative"},
		{host.WithParallelThreshold(-5), "WithParallelThreshold(-5ns): the threshold must not be negative"},
	} {
		h, err := host.New(c.opt)
		assert.Nil(t, h)
		require.Error(t, err)
		assert.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(err))
		assert.Contains(t, err.Error(), c.want)
	}
	h, err := host.New(host.WithDebounce(0), host.WithParallelThreshold(0))
	require.NoError(t, err, "0 is the default debounce, and fans out every plugin")
	require.NoError(t, h.Close())
}

// One identity, the manifest's name: a library that calls itself "own" in a
// directory whose manifest says alpha logs, sends events and has outcomes
// as alpha (with the library's version), its own name kept as field library; a library
// with a NULL name is named after the entry's stem, never the private copy.
// In process and in the process sandbox alike.
func TestOneIdentityTheManifests(t *testing.T) {
	for _, sb := range []manifest.Sandbox{manifest.SandboxNative, manifest.SandboxProcess} {
		t.Run(string(sb), func(t *testing.T) {
			root := t.TempDir()
			plugin(t, root, "alpha", "1.0.0", echo(t, "own", "9.9.9"), "network.relay")
			plugin(t, root, "nn", "2.0.0", cbuild.Plugin(t, "null_name"))
			r := newRig(t, host.WithPluginDirs(root), host.WithSandbox(sb))
			require.NoError(t, r.h.Load(bg))

			nn, ok := r.h.Plugin("nn")
			require.True(t, ok)
			assert.Contains(t, nn.Warnings, `using the file stem "libnn" as the name`)
			assert.Contains(t, nn.Warnings, `the library calls itself "libnn"; the host knows it as "nn" (the manifest's name)`)

			outs := r.h.Call(bg, clawd.ToolCall("s1", "grep", `{"q":1}`))
			require.Len(t, outs, 2)
			assert.Equal(t, []string{"alpha 9.9.9", "nn not-semver"}, []string{outs[0].Plugin + " " + outs[0].Version, outs[1].Plugin + " " + outs[1].Version})
			events := r.takeEvents()
			require.NotEmpty(t, events)
			for _, e := range events {
				assert.Equal(t, "alpha 9.9.9", e.Plugin+" "+e.Version, e.Method)
			}
			seen := map[string]bool{}
			for _, e := range r.logs.All() {
				f := e.ContextMap()
				if e.LoggerName != "" || f["library"] == nil {
					continue // the host's own lines
				}
				seen[fmt.Sprint(f["plugin"], " ", f["version"], " library=", f["library"])] = true
			}
			assert.Equal(t, map[string]bool{"alpha 9.9.9 library=own": true, "nn not-semver library=libnn": true}, seen)
		})
	}
}

// A load failure of a library in a plugin directory names the entry, not
// the private copy the host opened.
func TestLoadErrorNamesTheEntry(t *testing.T) {
	root := t.TempDir()
	dir := plugin(t, root, "mi", "1.0.0", cbuild.Plugin(t, "missing_init"))
	r := newRig(t, host.WithPluginDirs(root))
	err := r.h.Load(bg)
	require.Error(t, err)
	assert.Equal(t, clawerr.MissingInit, clawerr.CodeOf(err))
	assert.Contains(t, err.Error(), filepath.Join(dir, libName("mi")))
	assert.NotContains(t, err.Error(), host.CacheDirOf(r.h))
}

// A host that logs with slog gets the plugins' lines through its handler,
// with their fields as attributes.
func TestWithSlog(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"))
	var buf bytes.Buffer
	h, err := host.New(host.WithPluginDirs(root), host.WithPluginOptions(clawd.WithSlog(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))))
	require.NoError(t, err)
	require.NoError(t, h.Load(bg))
	require.NoError(t, host.Errors(h.Call(bg, clawd.ToolCall("s1", "grep", "{}"))))
	require.NoError(t, h.Close())
	var seen bool
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		if m["msg"] == "on_tool_call" {
			seen = true
			assert.Equal(t, "INFO", m["level"])
			assert.Equal(t, "alpha", m["plugin"])
			assert.Equal(t, "1.0.0", m["version"])
		}
	}
	assert.True(t, seen, buf.String())
}

// The host's own lines about a plugin carry the same fields as the
// plugin's: plugin and version.
func TestHostLinesCarryTheVersion(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"))
	core, logs := observer.New(zapcore.DebugLevel)
	h, err := host.New(host.WithPluginDirs(root), host.WithPluginOptions(clawd.WithLogger(zap.New(core))))
	require.NoError(t, err)
	require.NoError(t, h.Load(bg))
	require.NoError(t, h.Close())
	for _, msg := range []string{"plugin loads with a warning: unsigned (policy warn)", "plugin active", "plugin stopped"} {
		es := logs.FilterMessage(msg).All()
		require.Len(t, es, 1, msg)
		f := es[0].ContextMap()
		assert.Equal(t, "alpha 1.0.0", fmt.Sprint(f["plugin"], " ", f["version"]), msg)
	}
}

// Under a development logger (caller on, stack traces from Warn), the
// unsigned warning and the plugins' lines carry neither: both would point
// into the host's machinery.
func TestNoStackTraceNorCaller(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"))
	core, logs := observer.New(zapcore.DebugLevel)
	h, err := host.New(host.WithPluginDirs(root), host.WithPluginOptions(clawd.WithLogger(zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.WarnLevel)))))
	require.NoError(t, err)
	require.NoError(t, h.Load(bg))
	h.Call(bg, clawd.ToolCall("s1", "ok", "{}"))
	require.NoError(t, h.Close())
	require.NotEmpty(t, logs.FilterMessage("plugin loads with a warning: unsigned (policy warn)").All())
	require.NotEmpty(t, logs.FilterMessage("on_tool_call").All())
	for _, e := range logs.All() {
		assert.Empty(t, e.Stack, e.Message)
		assert.False(t, e.Caller.Defined, e.Message)
	}
}
