package isolate_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
	"github.com/clawd-go/clawd/loader"
)

// The tests of this file: a sandboxed plugin goes for the host's System V
// shared memory (testplugins/ipcprobe.c), which its uid, the host's, owns,
// and finds nothing: the sandbox child has an IPC namespace of its own.

// shmSecret is what the host keeps in its segment.
const shmSecret = "hunter2"

// hostSegment makes a 0600 System V shared memory segment with shmSecret
// in it in the host's IPC namespace, and removes it when the test ends.
func hostSegment(t *testing.T) (key, id int) {
	t.Helper()
	// A key of this process's own: IPC_EXCL fails on a stale or foreign one.
	key = 0x636d0000 | os.Getpid()&0xffff
	id, err := unix.SysvShmGet(key, 4096, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
	require.NoError(t, err, "create the host's segment %#x", key)
	t.Cleanup(func() { _, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil) })
	b, err := unix.SysvShmAttach(id, 0, 0)
	require.NoError(t, err)
	copy(b, shmSecret)
	require.NoError(t, unix.SysvShmDetach(b))
	return key, id
}

// ipcPlugin is what runs ipcprobe: isolate's Plugin or loader's.
type ipcPlugin interface {
	Call(ctx context.Context, c clawd.Call) error
}

// ipcProbes calls the tools of ipcprobe against the host's segment and
// returns the line each logged and the error each returned.
func ipcProbes(t *testing.T, p ipcPlugin, logs *observer.ObservedLogs, key, id int) (lines []string, errs []error) {
	t.Helper()
	for _, tool := range []string{fmt.Sprintf("shmget:%d", key), fmt.Sprintf("shmat:%d", id), "shm_own"} {
		err := p.Call(bg, clawd.ToolCall("s1", tool, "{}"))
		var found []string
		for _, e := range logs.TakeAll() {
			found = append(found, e.Message)
		}
		require.Len(t, found, 1, "log lines %q after %s", found, tool)
		lines, errs = append(lines, found[0]), append(errs, err)
	}
	return lines, errs
}

func TestIPCNamespaceHidesHostSegment(t *testing.T) {
	key, id := hostSegment(t)
	core, logs := observer.New(zapcore.DebugLevel)
	p, err := isolate.OpenPlugin(cbuild.Plugin(t, "ipcprobe"), clawd.WithLogger(zap.New(core)))
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	require.NoError(t, p.Call(bg, clawd.SessionStart("s1")))

	lines, errs := ipcProbes(t, p, logs, key, id)
	require.Equal(t, []string{"shmget: errno 2 (ENOENT)", "shmat: errno 22 (EINVAL)", "shm_own: ok"}, lines)
	for _, err := range errs[:2] {
		require.Equal(t, clawerr.CallbackError, clawerr.CodeOf(err), "%v", err)
		require.ErrorIs(t, err, abi.DaemonError)
	}
	require.NoError(t, errs[2], "a segment of its own")

	rep := p.Containment()
	require.True(t, rep.IPCNS, "the host runs as root here: %q", rep.Notes)
	require.Contains(t, rep.String(), "no sockets (seccomp), netns, ipcns, no capabilities")
}

// TestIPCSharedNative is the counter-proof: the same plugin and tools,
// loaded into the host's own process, find the segment and read the
// secret. (internal/contain's TestIPCShared runs the sandbox's policy
// without the namespace: the same, through Landlock and the filter.)
func TestIPCSharedNative(t *testing.T) {
	key, id := hostSegment(t)
	core, logs := observer.New(zapcore.DebugLevel)
	p, err := loader.Open(cbuild.Plugin(t, "ipcprobe"), clawd.WithLogger(zap.New(core)))
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	require.NoError(t, p.Call(bg, clawd.SessionStart("s1")))

	lines, errs := ipcProbes(t, p, logs, key, id)
	require.Equal(t, []string{"shmget: ok", "shmat: read " + shmSecret, "shm_own: ok"}, lines)
	for _, err := range errs {
		require.NoError(t, err)
	}
}
