package contain_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/clawd-go/clawd/internal/contain"
)

// The System V IPC probes, in the order sysvChild returns their errnos.
var sysvProbeNames = []string{"shmget key", "shmctl IPC_STAT id", "shmat id", "shmget IPC_PRIVATE"}

// sysvChild is a plugin going for the host's shared memory segment: by
// its key, and by its id without a lookup (ids are small and guessable),
// as the host's uid, which owns it. Last, a segment of its own, which a
// plugin may use.
func sysvChild(arg string) result {
	key, _ := strconv.Atoi(strings.Fields(arg)[0])
	id, _ := strconv.Atoi(strings.Fields(arg)[1])
	var res result
	_, err := unix.SysvShmGet(key, 0, 0)
	res.Errnos = append(res.Errnos, errnoOf(err))
	var desc unix.SysvShmDesc
	_, err = unix.SysvShmCtl(id, unix.IPC_STAT, &desc)
	res.Errnos = append(res.Errnos, errnoOf(err))
	b, err := unix.SysvShmAttach(id, 0, unix.SHM_RDONLY)
	if err == nil {
		res.Lines = append(res.Lines, string(b[:len(shmSecret)]))
		_ = unix.SysvShmDetach(b)
	}
	res.Errnos = append(res.Errnos, errnoOf(err))
	own, err := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600)
	if err == nil {
		_, _ = unix.SysvShmCtl(own, unix.IPC_RMID, nil)
	}
	res.Errnos = append(res.Errnos, errnoOf(err))
	return res
}

// shmSecret is what the host keeps in its segment.
const shmSecret = "hunter2"

// hostSegment makes a System V shared memory segment in the host's IPC
// namespace, mode 0600 (the host's uid, which the child runs as, owns
// it), with shmSecret in it, and removes it when the test ends. It
// returns the action that probes for it.
func hostSegment(t *testing.T) string {
	t.Helper()
	// A key of this process's own: IPC_EXCL fails on a stale or foreign one.
	key := 0x636c0000 | os.Getpid()&0xffff
	id, err := unix.SysvShmGet(key, 4096, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
	require.NoError(t, err, "create the host's segment %#x", key)
	t.Cleanup(func() { _, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil) })
	b, err := unix.SysvShmAttach(id, 0, 0)
	require.NoError(t, err)
	copy(b, shmSecret)
	require.NoError(t, unix.SysvShmDetach(b))
	found, err := unix.SysvShmGet(key, 0, 0)
	require.NoError(t, err, "the host finds its own segment")
	require.Equal(t, id, found)
	return fmt.Sprintf("sysv %d %d", key, id)
}

// sandboxPolicy is the policy the process sandbox gives a plugin (package
// isolate), with the test binary as the plugin's library.
func sandboxPolicy(t *testing.T) contain.Policy {
	return contain.Sandbox{Library: os.Args[0], ProjectDir: t.TempDir(),
		AddressSpace: addressSpace(), CPUTime: time.Minute, MaxProcesses: contain.DefaultMaxProcesses}.Policy()
}

// TestIPCNamespace: the sandboxed child finds neither the host's segment
// by its key (ENOENT) nor by its id (EINVAL): it is in an IPC namespace
// of its own, where a segment of its own still works.
func TestIPCNamespace(t *testing.T) {
	action := hostSegment(t)
	res := runConfined(t, sandboxPolicy(t), action)
	require.Len(t, res.Errnos, len(sysvProbeNames))
	want := []unix.Errno{unix.ENOENT, unix.EINVAL, unix.EINVAL, 0}
	for i, name := range sysvProbeNames {
		require.Equal(t, want[i], unix.Errno(res.Errnos[i]), "%s: errno %v", name, unix.Errno(res.Errnos[i]))
	}
	require.Empty(t, res.Lines, "the host's secret")

	rep := runConfined(t, sandboxPolicy(t), "report").Report
	require.True(t, rep.IPCNS, "the host runs as root here")
	require.NotContains(t, rep.Notes, "the child shares the host's IPC namespace (System V shared memory, semaphores, message queues; POSIX message queues): one of its own needs CAP_SYS_ADMIN")
	require.Contains(t, rep.String(), ", netns, ipcns, no capabilities")
	require.Equal(t, *rep, contain.Probe(sandboxPolicy(t)), "Probe foresees the namespace")
}

// TestIPCShared is the counter-proof: the same child and policy, on a host
// that may not make an IPC namespace, reaches the host's segment by its
// key and its id and reads the secret in it (Landlock and the seccomp
// filter stop none of it); its Report says so.
func TestIPCShared(t *testing.T) {
	action := hostSegment(t)
	restore := contain.NoIPCNamespaces()
	defer restore()
	res := runConfined(t, sandboxPolicy(t), action)
	require.Len(t, res.Errnos, len(sysvProbeNames))
	for i, name := range sysvProbeNames {
		require.Zero(t, res.Errnos[i], "%s: errno %v", name, unix.Errno(res.Errnos[i]))
	}
	require.Equal(t, []string{shmSecret}, res.Lines)

	rep := runConfined(t, sandboxPolicy(t), "report").Report
	require.False(t, rep.IPCNS)
	require.Contains(t, rep.Notes, "the child shares the host's IPC namespace (System V shared memory, semaphores, message queues; POSIX message queues): one of its own needs CAP_SYS_ADMIN")
	require.NotContains(t, rep.String(), "ipcns")
	require.Contains(t, rep.String(), ", netns, no capabilities")
	require.Equal(t, *rep, contain.Probe(sandboxPolicy(t)), "Probe foresees the shared namespace")
}

// TestPrepareIPCNS: Prepare asks for the namespace where the host may
// make one, for any policy, and hands the child its decision.
func TestPrepareIPCNS(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	st, err := contain.Prepare(cmd, contain.Policy{})
	require.NoError(t, err)
	require.True(t, st.Policy.IPCNS, "the host runs as root here")
	require.NotZero(t, cmd.SysProcAttr.Cloneflags&syscall.CLONE_NEWIPC)

	restore := contain.NoIPCNamespaces()
	defer restore()
	cmd = exec.Command(os.Args[0])
	st, err = contain.Prepare(cmd, contain.Policy{IPCNS: true})
	require.NoError(t, err)
	require.False(t, st.Policy.IPCNS, "the caller's value is not taken")
	require.Zero(t, cmd.SysProcAttr.Cloneflags&syscall.CLONE_NEWIPC)
}
