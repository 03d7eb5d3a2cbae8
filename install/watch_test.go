package install

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/host"
)

// A host watching the plugin directory picks up an install, an update and
// a rollback through hot reload, and never takes the installer's own
// directory for a plugin.
func TestWatchingHostSeesInstalls(t *testing.T) {
	w := newWorld(t)
	w.publish(w.native("1.0.0", "network.relay"))
	in := w.installer()
	h, err := host.New(host.WithPluginDirs(w.pluginDir), host.WithLockFile(filepath.Join(w.pluginDir, lockName)),
		host.WithWatch(true), host.WithDebounce(20*time.Millisecond))
	require.NoError(t, err)
	defer h.Close()
	tr, stop := h.Subscribe()
	defer stop()
	require.NoError(t, h.Load(bg))

	// wait reads transitions until echo serves version, at the watcher's
	// pace, which is the file system's. It has no deadline of its own: a
	// version that never serves fails the test at the test binary's
	// -timeout, and a closed subscription at once.
	wait := func(version string) {
		t.Helper()
		for {
			if info, ok := h.Plugin("echo"); ok && info.State == host.StatusActive && info.Version == version {
				return
			}
			_, ok := <-tr
			require.True(t, ok, "the subscription was closed before echo %s served", version)
		}
	}
	_, err = in.Install(bg, "echo")
	require.NoError(t, err)
	wait("1.0.0")
	w.publish(w.native("1.1.0", "network.relay"))
	_, err = in.Update(bg)
	require.NoError(t, err)
	wait("1.1.0")
	_, err = in.Rollback("echo")
	require.NoError(t, err)
	wait("1.0.0")
	for _, p := range h.Plugins() {
		require.Equal(t, "echo", p.Name, "only the installed plugin is a plugin")
	}
	info, _ := h.Plugin("echo")
	require.True(t, info.Signed, "trusted through its lock entry")
}
