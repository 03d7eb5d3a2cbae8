package host

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/clawd-go/clawd/internal/child"
)

// A cache directory left by a host that is gone is removed by the next
// host; those of live processes, and what only looks like one, stay.
func TestStaleCachesAreSwept(t *testing.T) {
	// A process that has exited: its pid names no process now (unless
	// reused at once, which the sweep then treats as alive: kept).
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := child.Exec(exe, "-test.run=^$") // through an emulator's launcher, if any
	require.NoError(t, cmd.Run())
	gone := cmd.Process.Pid
	if processAlive(gone) {
		t.Skipf("pid %d was reused at once", gone)
	}
	tmp := os.TempDir()
	stale := filepath.Join(tmp, cacheDirPrefix+strconv.Itoa(gone)+"-test")
	live := filepath.Join(tmp, cacheDirPrefix+strconv.Itoa(os.Getppid())+"-test")
	odd := filepath.Join(tmp, cacheDirPrefix+"notapid-test")
	for _, d := range []string{stale, live, odd} {
		require.NoError(t, os.MkdirAll(d, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(d, "copy"+map[bool]string{true: ".dll", false: ".so"}[runtime.GOOS == "windows"]), []byte("x"), 0o600))
		t.Cleanup(func() { os.RemoveAll(d) })
	}
	sweepStaleCaches(zap.NewNop())
	_, err = os.Stat(stale)
	assert.True(t, os.IsNotExist(err), "the stale directory stays: %v", err)
	for _, d := range []string{live, odd} {
		_, err := os.Stat(d)
		assert.NoError(t, err, "%s was removed", d)
	}
}
