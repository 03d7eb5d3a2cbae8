package isolate_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/contain"
	"github.com/clawd-go/clawd/isolate"
)

// The tests of the child's process tree: whatever the plugin starts is gone
// after Close, a crash, a timeout or the host's death, and the number of
// its processes is bounded.

// treeOpen opens the tree plugin with an observed logger.
func treeOpen(t *testing.T, opts ...clawd.Option) (*isolate.Plugin, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	p, err := isolate.OpenPlugin(cbuild.Plugin(t, "tree"), append([]clawd.Option{clawd.WithLogger(zap.New(core))}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p, logs
}

// pidsLogged returns the pids of the first log line "WORD <pid> ..." (for
// bomb, the ones after "pids"). The line was logged inside the call that
// returned, so it is there already.
func pidsLogged(t *testing.T, logs *observer.ObservedLogs, word string) []int {
	t.Helper()
	for _, e := range logs.All() {
		f := strings.Fields(e.Message)
		if len(f) < 2 || f[0] != word {
			continue
		}
		if word == "bomb" {
			for i, s := range f {
				if s == "pids" {
					f = f[i:]
					break
				}
			}
		}
		var pids []int
		for _, s := range f[1:] {
			pid, err := strconv.Atoi(s)
			require.NoError(t, err, "in %q", e.Message)
			require.Positive(t, pid, "the plugin could not start its process: %q", e.Message)
			pids = append(pids, pid)
		}
		return pids
	}
	t.Fatalf("no log line %q in %v", word, logs.All())
	return nil
}

// requireAlive checks that pid runs (and is not a zombie).
func requireAlive(t *testing.T, pid int) {
	t.Helper()
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	require.NoError(t, err, "process %d", pid)
	i := strings.LastIndexByte(string(stat), ')')
	require.NotEqual(t, byte('Z'), stat[i+2], "process %d is a zombie already", pid)
}

// requireGone waits, on a pidfd of each (readable once the process
// exited), until every pid is gone. Each process sleeps forever unless
// killed, so one that survives keeps this waiting until the test binary's
// -timeout fails the test: no clock of its own decides.
func requireGone(t *testing.T, pids ...int) {
	t.Helper()
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if errors.Is(err, unix.ESRCH) {
			continue // gone and reaped
		}
		require.NoError(t, err, "pidfd_open(%d)", pid)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n := 0
		for {
			n, err = unix.Poll(fds, -1)
			if err != unix.EINTR {
				break
			}
		}
		unix.Close(fd)
		require.NoError(t, err, "poll on the pidfd of %d", pid)
		require.Equal(t, 1, n, "process %d", pid)
	}
}

// descendants lists every process below pid, from /proc.
func descendants(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	parent := map[int]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		pp, _ := strconv.Atoi(f[1])
		parent[p] = pp
	}
	var out []int
	for p := range parent {
		for a := parent[p]; a > 1; a = parent[a] {
			if a == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// requireNoCgroups checks that no pids cgroup of this process is left.
func requireNoCgroups(t *testing.T) {
	t.Helper()
	left, err := filepath.Glob("/sys/fs/cgroup/*/clawd-" + strconv.Itoa(os.Getpid()) + "-*")
	require.NoError(t, err)
	left2, err := filepath.Glob("/sys/fs/cgroup/clawd-" + strconv.Itoa(os.Getpid()) + "-*")
	require.NoError(t, err)
	require.Empty(t, append(left, left2...), "cgroups left behind")
}

func TestContainmentReportsTheTree(t *testing.T) {
	p, _ := treeOpen(t)
	c := p.Containment()
	require.True(t, c.PIDNamespace, "%s", c)
	require.False(t, c.Subreaper)
	require.Contains(t, []int{1, 2}, c.Cgroup, "this machine has a writable pids cgroup: %s", c)
	require.Equal(t, isolate.DefaultMaxProcesses, c.MaxProcesses)
	require.Contains(t, c.String(), ", pid namespace, pids cgroup v"+strconv.Itoa(c.Cgroup)+" (max 64)")

	q, _ := treeOpen(t, clawd.WithMaxProcesses(-1)) // negative: no bound
	c = q.Containment()
	require.True(t, c.PIDNamespace)
	require.Zero(t, c.Cgroup, "no bound asked: no cgroup")
	require.NotContains(t, c.String(), "cgroup")
	require.NoError(t, p.Close())
	require.NoError(t, q.Close())
	requireNoCgroups(t)
}

func TestTreeGoneAfterClose(t *testing.T) {
	p, logs := treeOpen(t)
	require.NoError(t, p.ToolCall(bg, "s1", "sleeper", "{}"))
	require.NoError(t, p.ToolCall(bg, "s1", "daemon", "{}"))
	pids := append(pidsLogged(t, logs, "sleeper"), pidsLogged(t, logs, "daemon")...)
	for _, pid := range pids {
		requireAlive(t, pid)
	}
	pids = append(pids, p.PID()) // the child itself too
	require.NoError(t, p.Close())
	requireGone(t, pids...)
	requireNoCgroups(t)
}

func TestTreeGoneAfterCrash(t *testing.T) {
	p, logs := treeOpen(t, isolate.WithRestart(0, time.Millisecond, time.Millisecond))
	require.NoError(t, p.ToolCall(bg, "s1", "daemon", "{}"))
	err := p.ToolCall(bg, "s1", "crash", "{}")
	requireCode(t, err, clawerr.Crashed)
	requireGone(t, append(pidsLogged(t, logs, "sleeper"), pidsLogged(t, logs, "daemon")...)...)
}

func TestTreeGoneAfterTimeout(t *testing.T) {
	p, logs := treeOpen(t, isolate.WithRestart(0, time.Millisecond, time.Millisecond))
	require.NoError(t, p.ToolCall(bg, "s1", "daemon", "{}"))
	// The deadline is the hanging call's alone (it spins forever): the
	// daemon call above has none to miss on a busy machine.
	ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
	defer cancel()
	err := p.ToolCall(ctx, "s1", "hang", "{}")
	requireCode(t, err, clawerr.Timeout)
	requireGone(t, append(pidsLogged(t, logs, "sleeper"), pidsLogged(t, logs, "daemon")...)...)
}

// TestPipeHolderDoesNotBlockACrashedCall: a grandchild that holds the
// host's pipes open keeps no crashed call waiting for EOF. The holder
// sleeps forever: a call that waited for the pipe to close would never
// return, and the test binary's -timeout would fail the test.
func TestPipeHolderDoesNotBlockACrashedCall(t *testing.T) {
	p, logs := treeOpen(t, isolate.WithRestart(0, time.Millisecond, time.Millisecond))
	err := p.ToolCall(bg, "s1", "holder", "{}")
	requireCode(t, err, clawerr.Crashed)
	requireGone(t, pidsLogged(t, logs, "holder")...)
}

func TestForkBombIsBounded(t *testing.T) {
	p, logs := treeOpen(t)
	echo := open(t, cbuild.Plugin(t, "echo"))
	// The bystander calls all through the bomb and after it.
	stop := make(chan struct{})
	var calls atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := echo.p.ToolCall(bg, "s1", "grep", "{}"); err != nil {
				failed.CompareAndSwap(nil, &err)
			}
			calls.Add(1)
		}
	}()
	require.NoError(t, p.ToolCall(bg, "s1", "bomb", "{}"))
	var n, errno int
	for _, e := range logs.All() {
		if strings.HasPrefix(e.Message, "bomb ") {
			f := strings.Fields(e.Message)
			n, _ = strconv.Atoi(f[1])
			errno, _ = strconv.Atoi(f[3])
		}
	}
	// The plugin gets at least its share; the whole child at most
	// pids.max, its Go runtime's threads included.
	require.GreaterOrEqual(t, n, isolate.DefaultMaxProcesses, "the bound left the plugin less than its share")
	require.Less(t, n, isolate.DefaultMaxProcesses+contain.RuntimeTasks, "forks past the bound")
	require.Equal(t, int(syscall.EAGAIN), errno, "fork fails with EAGAIN at the bound")
	pids := pidsLogged(t, logs, "bomb")
	require.Len(t, pids, n)

	// The host still serves: the plugin itself, and the bystander.
	require.NoError(t, p.ToolCall(bg, "s1", "sleeper", "{}"))
	close(stop)
	wg.Wait()
	require.Nil(t, failed.Load(), "a bystander call failed")
	require.Positive(t, calls.Load())
	require.NoError(t, echo.p.ToolCall(bg, "s1", "grep", "{}"))

	// The plugin left its budget spent: the child's own Go runtime may find
	// no room for a thread it needs for on_unload and abort. That is the
	// plugin's child dying, contained: Close says crashed, and the tree is
	// gone all the same.
	if err := p.Close(); err != nil {
		requireCode(t, err, clawerr.Crashed)
		require.Regexp(t, `pthread_create failed|failed to create new OS thread`, err.Error())
	}
	requireGone(t, pids...)
	require.NoError(t, echo.p.Close())
	requireNoCgroups(t)
}

func TestTreeGoneAfterHostKilled(t *testing.T) {
	lib := cbuild.Plugin(t, "tree", "-DTREE_ON_LOAD")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envHostMode+"="+lib)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // held open: the host waits on it
	require.NoError(t, err)
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	child, err := strconv.Atoi(strings.TrimSpace(line))
	require.NoError(t, err)
	// on_load started a sleeper and a setsid daemon (whose parent exited:
	// the child, its namespace's init, adopted it).
	tree := descendants(t, child)
	require.Len(t, tree, 2, "the sleeper and the daemon below the child %d", child)

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	requireGone(t, append(tree, child)...)

	// The dead host could not remove its cgroup; the next one made (by
	// this process, or any other host on the machine) sweeps it.
	treeOpen(t)
	stale, err := filepath.Glob("/sys/fs/cgroup/*/clawd-" + strconv.Itoa(cmd.Process.Pid) + "-*")
	require.NoError(t, err)
	require.Empty(t, stale, "the killed host's cgroup is left")
}
