package isolate_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/windows"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
)

// childProcess opens the sandbox child's process for waiting on it.
func childProcess(t *testing.T, pid int) windows.Handle {
	t.Helper()
	h, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	require.NoError(t, err)
	t.Cleanup(func() { windows.CloseHandle(h) })
	return h
}

func exited(h windows.Handle, within time.Duration) bool {
	ev, err := windows.WaitForSingleObject(h, uint32(within/time.Millisecond))
	return err == nil && ev == windows.WAIT_OBJECT_0
}

// Closing a sandboxed plugin leaves no process of it behind. (Whether the
// child is in a job object is not asked: Wine 8's IsProcessInJob fails.)
func TestChildGoneAfterClose(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "hostile"))
	h := childProcess(t, r.p.PID())
	require.NoError(t, r.p.ToolCall(bg, "s1", "ok", "{}"))
	require.NoError(t, r.p.Close())
	assert.True(t, exited(h, 10*time.Second), "the child still runs after Close")
}

// A call past its deadline kills the child through its job: the process is
// gone and the call says timeout.
func TestHungChildIsKilledThroughItsJob(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "hostile"))
	h := childProcess(t, r.p.PID())
	ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
	defer cancel()
	requireCode(t, r.p.ToolCall(ctx, "s1", "loop", "{}"), clawerr.Timeout)
	assert.True(t, exited(h, 10*time.Second), "the hung child still runs")
}

// The child's token, as it reads it back: every privilege but
// SeChangeNotifyPrivilege gone, Administrators deny-only, low integrity.
func TestChildTokenIsRestricted(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "hostile"))
	c := r.p.Containment()
	t.Logf("containment: %s; notes: %q", c, c.Notes)
	assert.True(t, c.RestrictedToken, "%q", c.Notes)
	assert.Equal(t, "low", c.Integrity, "%q", c.Notes)
}
