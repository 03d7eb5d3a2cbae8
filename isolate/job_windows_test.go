package isolate_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/windows"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
)

// childProcess opens the sandbox child's process for waiting on it.
func childProcess(t *testing.T, pid int) windows.Handle {
	t.Helper()
	h, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	require.NoError(t, err)
	t.Cleanup(func() { windows.CloseHandle(h) })
	return h
}

// exited says whether the process has exited, without waiting.
func exited(h windows.Handle) bool {
	ev, err := windows.WaitForSingleObject(h, 0)
	return err == nil && ev == windows.WAIT_OBJECT_0
}

// waitExit waits for the process to exit, with no deadline of its own: one
// that outlives what should end it fails the test at the test binary's
// -timeout.
func waitExit(t *testing.T, h windows.Handle) {
	t.Helper()
	ev, err := windows.WaitForSingleObject(h, windows.INFINITE)
	require.NoError(t, err)
	require.Equal(t, uint32(windows.WAIT_OBJECT_0), ev)
}

// Closing a sandboxed plugin leaves no process of it behind. (Whether the
// child is in a job object is not asked: Wine 8's IsProcessInJob fails.)
func TestChildGoneAfterClose(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "hostile"))
	h := childProcess(t, r.p.PID())
	require.NoError(t, r.p.ToolCall(bg, "s1", "ok", "{}"))
	require.NoError(t, r.p.Close())
	waitExit(t, h)
}

// A call past its deadline kills the child through its job: the process is
// gone and the call says timeout.
func TestHungChildIsKilledThroughItsJob(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "hostile"))
	h := childProcess(t, r.p.PID())
	ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
	defer cancel()
	requireCode(t, r.p.ToolCall(ctx, "s1", "loop", "{}"), clawerr.Timeout)
	waitExit(t, h)
}

// The child's token, as it reads it back: every privilege but
// SeChangeNotifyPrivilege gone, Administrators deny-only. (Its integrity
// level: TestLowIntegrityRefusesWritesUp.)
func TestChildTokenIsRestricted(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "hostile"))
	c := r.p.Containment()
	t.Logf("containment: %s; notes: %q", c, c.Notes)
	assert.True(t, c.RestrictedToken, "%q", c.Notes)
	assert.Contains(t, c.String(), "restricted token")
	assert.NotEmpty(t, c.Integrity, "the integrity level is read back")
}

// A process the plugin started is killed with the job when the plugin is
// closed.
func TestPluginsProcessesDieOnClose(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "spawner"))
	require.NoError(t, r.p.ToolCall(bg, "s1", "child", "{}"))
	h := childProcess(t, loggedPID(t, r, "child "))
	require.False(t, exited(h), "the plugin's process is not running")
	require.NoError(t, r.p.Close())
	waitExit(t, h)
}

// A process the plugin started is killed with the job when the child
// crashes.
func TestPluginsProcessesDieWithACrashedChild(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "spawner"))
	requireCode(t, r.p.ToolCall(bg, "s1", "crash", "{}"), clawerr.Crashed)
	h := childProcess(t, loggedPID(t, r, "child "))
	waitExit(t, h)
}

// clawd.WithMaxProcesses bounds what the plugin may start: the job's
// active-process limit refuses the next CreateProcess.
func TestActiveProcessLimitHolds(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "spawner"), clawd.WithMaxProcesses(3))
	require.NoError(t, r.p.ToolCall(bg, "s1", "children:16", "{}"))
	line := r.logged(t, "children ")
	var n int
	var code uint32
	_, err := fmt.Sscanf(line, "children %d error %d", &n, &code)
	require.NoError(t, err, line)
	assert.Equal(t, 3, n, line)
	assert.Equal(t, uint32(windows.ERROR_NOT_ENOUGH_QUOTA), code, line)
}

// The job's per-process CPU-time limit ends a child that spins. The call
// has no deadline: a busy machine gives the spin its second of CPU late,
// and a limit that never holds fails the test at the test binary's
// -timeout.
func TestCPUTimeLimitHolds(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "hostile"), isolate.WithLimits(isolate.Limits{CPUTime: time.Second}))
	requireCode(t, r.p.ToolCall(bg, "s1", "loop", "{}"), clawerr.Crashed)
}

// The job's per-process memory limit makes malloc fail below it.
func TestMemoryLimitHolds(t *testing.T) {
	const limit = 256 << 20
	r := open(t, cbuild.Plugin(t, "hostile"), isolate.WithLimits(isolate.Limits{AddressSpace: limit}))
	// At most 1 GiB: where the limit does not hold, the test must not take
	// the machine's memory.
	requireCallbackCode(t, r.p.ToolCall(bg, "s1", "alloc:1024", "{}"), abi.DaemonError)
	line := r.logged(t, "alloc: ")
	var mib int
	_, err := fmt.Sscanf(line, "alloc: refused after %d MiB", &mib)
	require.NoError(t, err, line)
	assert.Less(t, mib, limit>>20, line)
	require.NoError(t, r.p.ToolCall(bg, "s1", "ok", "{}"), "the child lives on")
}

// With fs.write on a project directory the child stays at medium
// integrity, and the report says why.
func TestWriteGrantKeepsTheIntegrityLevel(t *testing.T) {
	project := t.TempDir()
	r := open(t, cbuild.Plugin(t, "hostile"), clawd.WithProjectDir(project), clawd.WithCapabilities(abi.CapFSWrite))
	c := r.p.Containment()
	assert.NotEqual(t, "low", c.Integrity)
	assert.False(t, c.NoWriteUp)
	assert.True(t, slices.ContainsFunc(c.Notes, func(n string) bool {
		return strings.Contains(n, "grants write access to "+project)
	}), "%q", c.Notes)
	require.NoError(t, r.p.ToolCall(bg, "s1", "write:"+filepath.Join(project, "new.txt"), "{}"))
	assert.True(t, c.RestrictedToken, "%q", c.Notes)
}

// What the report says of writes up is what a write up does.
func TestReportSaysWhetherWritesUpAreRefused(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "hostile"))
	c := r.p.Containment()
	target := filepath.Join(t.TempDir(), "written.txt")
	err := r.p.ToolCall(bg, "s1", "write:"+target, "{}")
	if c.NoWriteUp {
		requireCallbackCode(t, err, abi.CapabilityDenied)
		assert.NoFileExists(t, target)
		assert.Contains(t, c.String(), "no write to the user's files")
		return
	}
	require.NoError(t, err, "the report says writes up are not refused")
	assert.FileExists(t, target)
	assert.NotContains(t, c.String(), "no write to the user's files")
	assert.True(t, slices.ContainsFunc(c.Notes, func(n string) bool { return strings.Contains(n, "integrity") }), "%q", c.Notes)
}

// At low integrity the child cannot write the user's files (of medium
// integrity), and says so.
func TestLowIntegrityRefusesWritesUp(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "hostile"))
	c := r.p.Containment()
	require.Equal(t, "low", c.Integrity, "%q", c.Notes)
	require.True(t, c.NoWriteUp, "%q", c.Notes)
	target := filepath.Join(t.TempDir(), "written.txt")
	requireCallbackCode(t, r.p.ToolCall(bg, "s1", "write:"+target, "{}"), abi.CapabilityDenied)
	assert.NoFileExists(t, target)
}

func loggedPID(t *testing.T, r *rig, prefix string) int {
	t.Helper()
	line := r.logged(t, prefix)
	pid, err := strconv.Atoi(strings.TrimPrefix(line, prefix))
	require.NoError(t, err, line)
	return pid
}
