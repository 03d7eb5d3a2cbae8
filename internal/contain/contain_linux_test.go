package contain_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	// With CGO_ENABLED=0, purego links its fake cgo runtime (runtime.iscgo is
	// set, the binary loads libc dynamically): the case that rules out
	// syscall.AllThreadsSyscall. The tests must pass in it too.
	_ "github.com/ebitengine/purego"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/clawd-go/clawd/internal/child"
	"github.com/clawd-go/clawd/internal/contain"
)

// The main goroutine keeps the main thread, so that a goroutine that exits
// while locked (see spawner) is on a thread the runtime really ends: a
// locked main thread is parked instead.
func init() { runtime.LockOSThread() }

// platformChild runs the Linux-only child actions.
func platformChild(verb, arg string) (result, bool) {
	var res result
	switch verb {
	case "rlimits", "nnp":
		res.Limits = map[string]uint64{}
		for name, r := range map[string]int{"as": unix.RLIMIT_AS, "cpu": unix.RLIMIT_CPU, "core": unix.RLIMIT_CORE} {
			var l unix.Rlimit
			if err := unix.Getrlimit(r, &l); err != nil {
				res.Errno = errnoOf(err)
			}
			res.Limits[name], res.Limits[name+"_max"] = l.Cur, l.Max
		}
		nnp, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
		if err != nil {
			res.Errno = errnoOf(err)
		}
		res.NNP = []int{nnp}
	case "connect", "bind": // a TCP socket to or on ARG (host:port)
		res.Errno = tcp(verb, arg)
	case "threads": // open ARG from several new threads at once
		res = fromThreads(arg)
	case "perthread": // restrict one thread without execve, then open ARG
		res = perThread(arg)
	case "spawner": // start a "waiter" child from a thread that then exits
		res = spawner(arg)
	case "waiter": // print the pid, then "alive" on each SIGUSR1, until killed
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		res.PID = hostPID()
		emit(res)
		for range usr1 {
			emit(result{PID: res.PID, String: "alive"})
		}
	default:
		return confineChild(verb, arg)
	}
	return res, true
}

func tcp(verb, addr string) int {
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	sa := &unix.SockaddrInet4{Port: n, Addr: [4]byte(net.ParseIP(host).To4())}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return errnoOf(err)
	}
	defer unix.Close(s)
	if verb == "bind" {
		return errnoOf(unix.Bind(s, sa))
	}
	return errnoOf(unix.Connect(s, sa))
}

// fromThreads opens path from threadCount goroutines, each locked on a
// thread of its own at the same time, and reads no_new_privs of every thread
// of the process from /proc while they all exist.
const threadCount = 8

func fromThreads(path string) result {
	var ready, done sync.WaitGroup
	ready.Add(threadCount)
	done.Add(threadCount)
	release := make(chan struct{})
	res := result{Errnos: make([]int, threadCount), Tids: make([]int, threadCount)}
	for i := range threadCount {
		go func() {
			defer done.Done()
			// Never unlocked: while blocked below, each goroutine holds a
			// thread no other goroutine can use, so all are distinct.
			runtime.LockOSThread()
			ready.Done()
			<-release
			fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err == nil {
				unix.Close(fd)
			}
			res.Errnos[i], res.Tids[i] = errnoOf(err), unix.Gettid()
		}()
	}
	ready.Wait()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		res.Errno = errnoOf(err)
	}
	for _, task := range tasks {
		status, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
		if err != nil {
			res.Errno = errnoOf(err)
			continue
		}
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "NoNewPrivs:"); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				res.NNP = append(res.NNP, n)
			}
		}
	}
	close(release)
	done.Wait()
	return res
}

// perThread shows why Enter executes itself again: landlock_restrict_self
// confines the calling thread only. Errnos: the restricted thread, another
// thread, the main goroutine.
func perThread(path string) result {
	open := func() int {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
		}
		return errnoOf(err)
	}
	restricted := make(chan int)
	go func() {
		// Never unlocked: the confined thread ends with this goroutine and
		// is never handed to another one.
		runtime.LockOSThread()
		if err := contain.RestrictThisThread(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			restricted <- -1
			return
		}
		restricted <- open()
	}()
	first := <-restricted
	other := make(chan int)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		other <- open()
	}()
	return result{Errnos: []int{first, <-other, open()}}
}

// spawner starts a "waiter" child with Prepare, from a goroutine locked on
// a thread that exits right after (mode "contain": with contain.Start; mode
// "plain": with cmd.Start). It prints the child's pid once that thread is
// gone from /proc (the kernel sends a parent-death signal before it
// releases the thread), then the child's signal once it ends.
func spawner(mode string) result {
	cmd, err := confined("waiter", &contain.Policy{Landlock: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return result{Errno: -1}
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	type start struct {
		tid int
		err error
	}
	started := make(chan start)
	go func() {
		// Not unlocked: the thread exits with this goroutine.
		runtime.LockOSThread()
		s := start{tid: unix.Gettid()}
		if mode == "plain" {
			s.err = cmd.Start()
		} else {
			s.err = contain.Start(cmd)
		}
		started <- s
	}()
	s := <-started
	if s.err != nil {
		fmt.Fprintln(os.Stderr, s.err)
		return result{Errno: -1}
	}
	// Polled: the kernel tells nobody else when a thread is released. A
	// thread that never goes keeps this loop going until the test binary's
	// -timeout fails the test.
	for task := "/proc/self/task/" + strconv.Itoa(s.tid); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(task); os.IsNotExist(err) {
			break
		}
	}
	emit(result{PID: cmd.Process.Pid})
	if mode != "plain" {
		// Waits to be killed, and never waits for the child: a thread of
		// a dying process that sits in wait4 can reap the child (killed
		// by its parent-death signal) before the kernel hands it to the
		// test's subreaper, which would then never see how it ended.
		for {
			_ = unix.Pause()
		}
	}
	_ = cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return result{PID: cmd.Process.Pid, Signal: int(ws.Signal())}
}

// raceOn tells whether the race detector is on: its shadow memory needs
// far more address space than a tight RLIMIT_AS leaves.
var raceOn = false

func addressSpace() uint64 {
	if raceOn {
		return 1 << 46
	}
	return 8 << 30
}

// fullPolicy asks for everything.
func fullPolicy(ro, rw string) contain.Policy {
	return contain.Policy{
		ReadOnly: []string{ro}, ReadWrite: []string{rw},
		DenyTCP: true, ScopeSignals: true, Landlock: true,
		AddressSpace: addressSpace(), CPUSeconds: 60, NoCoreDumps: true,
	}
}

func requireLandlock(t *testing.T) {
	t.Helper()
	if r := contain.Probe(contain.Policy{Landlock: true}); r.LandlockABI == 0 {
		t.Skipf("no Landlock here: %v", r.Notes)
	}
}

func checkProcAttr(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	require.NotNil(t, cmd.SysProcAttr)
	require.True(t, cmd.SysProcAttr.Setpgid)
	require.Equal(t, syscall.SIGKILL, cmd.SysProcAttr.Pdeathsig)
}

func TestPrepareKeepsSysProcAttr(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.SysProcAttr = &syscall.SysProcAttr{Noctty: true, Pdeathsig: syscall.SIGTERM}
	_, err := contain.Prepare(cmd, contain.Policy{})
	require.NoError(t, err)
	require.True(t, cmd.SysProcAttr.Noctty)
	checkProcAttr(t, cmd)

	cmd = exec.Command(os.Args[0])
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: 1}
	_, err = contain.Prepare(cmd, contain.Policy{})
	require.ErrorContains(t, err, "Pgid 1")
}

// dirs makes the three places of the file system tests: a file outside any
// grant, a read-only directory with a file, a read-write directory.
func dirs(t *testing.T) (outside, ro, rw string) {
	outside = filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(outside, []byte("secret"), 0o644))
	ro = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(ro, "ro.txt"), []byte("read me"), 0o644))
	return outside, ro, t.TempDir()
}

func TestFilesystem(t *testing.T) {
	requireLandlock(t)
	outside, ro, rw := dirs(t)
	p := fullPolicy(ro, rw)
	run := func(action string) int { return runConfined(t, p, action).Errno }

	require.Equal(t, int(unix.EACCES), run("open "+outside), "outside the grants")
	require.Equal(t, 0, run("open "+filepath.Join(ro, "ro.txt")), "read in ReadOnly")
	require.Equal(t, int(unix.EACCES), run("write "+filepath.Join(ro, "ro.txt")), "write in ReadOnly")
	require.Equal(t, int(unix.EACCES), run("write "+filepath.Join(ro, "new.txt")), "create in ReadOnly")
	require.Equal(t, 0, run("write "+filepath.Join(rw, "new.txt")), "create in ReadWrite")
	data, err := os.ReadFile(filepath.Join(rw, "new.txt"))
	require.NoError(t, err)
	require.Equal(t, "written by the child\n", string(data))
	require.Equal(t, 0, run("open /proc/self/status"), "its own /proc entry")
	require.Equal(t, 0, run("write /dev/null"))
	require.Equal(t, int(unix.EACCES), run("open /etc/hostname"))
	_, err = os.ReadFile("/etc/hostname") // the parent is not confined
	require.NoError(t, err)
}

func TestTCP(t *testing.T) {
	requireLandlock(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	p := fullPolicy(t.TempDir(), t.TempDir())

	require.Equal(t, int(unix.EACCES), runConfined(t, p, "connect "+ln.Addr().String()).Errno)
	require.Equal(t, int(unix.EACCES), runConfined(t, p, "bind 127.0.0.1:0").Errno)

	require.NoError(t, ln.(*net.TCPListener).SetDeadline(time.Now().Add(100*time.Millisecond)))
	conn, err := ln.Accept()
	if conn != nil {
		conn.Close()
	}
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the listener accepted a connection")

	// Without DenyTCP the same child connects.
	p.DenyTCP = false
	require.Equal(t, 0, runConfined(t, p, "connect "+ln.Addr().String()).Errno)
}

func TestRlimitsAndNoNewPrivs(t *testing.T) {
	p := fullPolicy(t.TempDir(), t.TempDir())
	res := runConfined(t, p, "rlimits")
	require.Zero(t, res.Errno)
	require.Equal(t, p.AddressSpace, res.Limits["as"])
	require.Equal(t, p.AddressSpace, res.Limits["as_max"])
	require.Equal(t, p.CPUSeconds, res.Limits["cpu"])
	require.Equal(t, p.CPUSeconds, res.Limits["cpu_max"], "CPU: soft = hard")
	require.Zero(t, res.Limits["core"])
	require.Zero(t, res.Limits["core_max"])
	require.Equal(t, []int{1}, res.NNP)
}

// TestAllThreadsConfined checks the claim the package rests on: after
// execve from the confined thread, every thread of the new image is
// confined, including threads created later.
func TestAllThreadsConfined(t *testing.T) {
	requireLandlock(t)
	outside, ro, rw := dirs(t)
	res := runConfined(t, fullPolicy(ro, rw), "threads "+outside)
	require.Zero(t, res.Errno, "reading /proc/self/task")
	for i, e := range res.Errnos {
		require.Equal(t, int(unix.EACCES), e, "thread %d (tid %d)", i, res.Tids[i])
	}
	tids := map[int]bool{}
	for _, tid := range res.Tids {
		tids[tid] = true
	}
	require.Len(t, tids, threadCount, "distinct threads")
	require.Greater(t, len(res.NNP), threadCount)
	for i, v := range res.NNP {
		require.Equal(t, 1, v, "no_new_privs of task %d", i)
	}
}

// TestLandlockIsPerThreadWithoutExec is the counter-proof: restricting one
// thread of a running Go program leaves its other threads free.
func TestLandlockIsPerThreadWithoutExec(t *testing.T) {
	requireLandlock(t)
	outside, _, _ := dirs(t)
	cmd, err := confined("perthread "+outside, nil)
	require.NoError(t, err)
	out, err := cmd.Output()
	require.NoError(t, err)
	var res result
	require.NoError(t, json.Unmarshal(out, &res))
	require.Equal(t, []int{int(unix.EACCES), 0, 0}, res.Errnos)
}

func TestReport(t *testing.T) {
	requireLandlock(t)
	p := fullPolicy(t.TempDir(), t.TempDir())
	p.ReadOnly = append(p.ReadOnly, "/does/not/exist")
	res := runConfined(t, p, "report")
	require.True(t, res.Applied)
	r := *res.Report
	require.Equal(t, "linux", r.OS)
	require.Positive(t, r.LandlockABI)
	if r.LandlockABI < 6 {
		t.Skipf("Landlock ABI v%d lacks TCP or signal scoping", r.LandlockABI)
	}
	require.True(t, r.Filesystem)
	require.True(t, r.TCP)
	require.True(t, r.Signals)
	require.True(t, r.NoNewPrivs)
	require.True(t, r.Rlimits)
	require.True(t, r.DieWithParent)
	require.Len(t, r.Notes, 1)
	require.Contains(t, r.Notes[0], "/does/not/exist")
	require.True(t, r.PIDNamespace, "the child is the init of its own PID namespace")
	require.False(t, r.Subreaper)
	require.Zero(t, r.Cgroup, "no MaxProcesses: no cgroup")
	require.True(t, r.FDs)
	require.True(t, r.Env)
	require.True(t, r.NoCapabilities, "the host runs as root here")
	require.Equal(t, fmt.Sprintf("landlock v%d (filesystem, tcp, signals), no_new_privs, rlimits, dies with parent, pid namespace, own session keyring, ipcns, no capabilities, fds closed, env allowlist", r.LandlockABI), res.String)

	probe := contain.Probe(p)
	require.Equal(t, r, probe, "Probe foresees what Enter applies")
}

func TestWithoutLandlock(t *testing.T) {
	outside, ro, rw := dirs(t)
	p := fullPolicy(ro, rw)
	p.Landlock = false
	res := runConfined(t, p, "report")
	require.True(t, res.Applied)
	r := *res.Report
	require.Zero(t, r.LandlockABI)
	require.False(t, r.Filesystem)
	require.False(t, r.TCP)
	require.False(t, r.Signals)
	require.True(t, r.NoNewPrivs)
	require.True(t, r.Rlimits)
	require.True(t, r.DieWithParent)
	require.True(t, strings.HasPrefix(res.String, "no landlock (not requested), no_new_privs, rlimits"), res.String)

	require.Equal(t, 0, runConfined(t, p, "open "+outside).Errno)
	lim := runConfined(t, p, "rlimits")
	require.Equal(t, []int{1}, lim.NNP)
	require.Equal(t, p.CPUSeconds, lim.Limits["cpu"])
}

// startSpawner runs the child action "spawner MODE" and returns it and a
// channel of the JSON lines it and its child print.
func startSpawner(t *testing.T, mode string) (*exec.Cmd, <-chan result) {
	t.Helper()
	cmd, err := confined("spawner "+mode, nil)
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan result, 8)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var res result
			if json.Unmarshal(sc.Bytes(), &res) == nil {
				lines <- res
			}
		}
	}()
	return cmd, lines
}

// next waits for the spawner's next line, with no deadline of its own: a
// line that never comes fails the test at the test binary's -timeout.
func next(t *testing.T, lines <-chan result) result {
	t.Helper()
	res, ok := <-lines
	require.True(t, ok, "the spawner closed its output")
	return res
}

func TestDiesWithParent(t *testing.T) {
	// The grandchild is reparented to us when the spawner dies, so we can
	// reap it and see what killed it.
	require.NoError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })

	sp, lines := startSpawner(t, "contain")
	// Two lines name the grandchild, in either order: its own (confined,
	// running, its SIGUSR1 handler set) and the spawner's, which says the
	// thread that called Start has been released.
	pid := next(t, lines).PID
	require.Positive(t, pid)
	require.Equal(t, pid, next(t, lines).PID)

	// contain.Start forked from a thread of its own, so the grandchild
	// outlived the released one: it still handles a signal. (Had the
	// thread's exit sent it SIGKILL, it could never answer.)
	require.NoError(t, unix.Kill(pid, unix.SIGUSR1))
	require.Equal(t, result{PID: pid, String: "alive"}, next(t, lines))

	// The spawner's death kills it. Waited for without a deadline of our
	// own: a grandchild that lives on fails the test at the test binary's
	// -timeout.
	require.NoError(t, sp.Process.Signal(syscall.SIGKILL))
	_ = sp.Wait()
	var ws unix.WaitStatus
	wpid, err := unix.Wait4(pid, &ws, 0, nil)
	require.NoError(t, err, "we are its subreaper: it is ours to wait for")
	require.Equal(t, pid, wpid)
	require.True(t, ws.Signaled(), "status %v", ws)
	require.Equal(t, unix.SIGKILL, ws.Signal())
}

// TestPlainStartFromRetiredThread is the counter-proof for Start: with
// cmd.Start the parent-death signal fires when the forking thread exits,
// while the parent process lives on.
func TestPlainStartFromRetiredThread(t *testing.T) {
	_, lines := startSpawner(t, "plain")
	pid := next(t, lines).PID
	require.Positive(t, pid)
	var res result
	for res.Signal == 0 { // skip the grandchild's own pid line, if it got that far
		res = next(t, lines)
	}
	require.Equal(t, pid, res.PID)
	require.Equal(t, int(syscall.SIGKILL), res.Signal)
}

func TestKillGroup(t *testing.T) {
	cmd, err := confined("sleep", &contain.Policy{})
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, contain.Start(cmd))
	_, err = bufio.NewReader(stdout).ReadString('\n') // running
	require.NoError(t, err)
	pgid, err := unix.Getpgid(cmd.Process.Pid)
	require.NoError(t, err)
	require.Equal(t, cmd.Process.Pid, pgid, "a process group of its own")
	require.NoError(t, contain.KillGroup(cmd))
	err = cmd.Wait()
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ws.Signaled(), "%v", err)
	require.Equal(t, syscall.SIGKILL, ws.Signal())
}

func TestProbe(t *testing.T) {
	r := contain.Probe(contain.Policy{})
	require.Equal(t, "linux", r.OS)
	require.Zero(t, r.LandlockABI)
	require.False(t, r.Rlimits)
	require.True(t, r.NoNewPrivs)
	require.True(t, r.DieWithParent)

	r = contain.Probe(contain.Policy{ReadOnly: []string{"relative"}, Landlock: true})
	require.Contains(t, strings.Join(r.Notes, "\n"), `"relative" is not absolute`)
}

func TestExpect(t *testing.T) {
	full := contain.Policy{DenyTCP: true, ScopeSignals: true, Landlock: true, NoCoreDumps: true}

	r := contain.Expect(full, 0, unix.ENOSYS)
	require.Zero(t, r.LandlockABI)
	require.Equal(t, []string{"the kernel has no Landlock: file and network access are not restricted"}, r.Notes)
	require.Equal(t, "no landlock (kernel lacks it), no_new_privs, rlimits, dies with parent", r.String())
	require.Equal(t, r, contain.Expect(full, 0, unix.EOPNOTSUPP))

	r = contain.Expect(full, 3, nil)
	require.Equal(t, 3, r.LandlockABI)
	require.True(t, r.Filesystem)
	require.False(t, r.TCP)
	require.False(t, r.Signals)
	require.Equal(t, []string{
		"Landlock ABI v3 cannot restrict TCP (needs v4)",
		"Landlock ABI v3 cannot scope signals and abstract unix sockets (needs v6)",
	}, r.Notes)
	require.Equal(t, "landlock v3 (filesystem), no_new_privs, rlimits, dies with parent", r.String())

	r = contain.Expect(full, 5, nil)
	require.True(t, r.TCP)
	require.False(t, r.Signals)
	require.Len(t, r.Notes, 1)

	r = contain.Expect(contain.Policy{DenyTCP: true}, 7, nil)
	require.Zero(t, r.LandlockABI)
	require.False(t, r.Filesystem)
	require.Len(t, r.Notes, 1)
}

func TestHandledFS(t *testing.T) {
	require.Equal(t, uint64(0x1fff), contain.HandledFS(1))
	require.Equal(t, uint64(0x3fff), contain.HandledFS(2))
	require.Equal(t, uint64(0x7fff), contain.HandledFS(3))
	require.Equal(t, uint64(0x7fff), contain.HandledFS(4))
	require.Equal(t, uint64(0xffff), contain.HandledFS(5))
	require.Equal(t, uint64(0xffff), contain.HandledFS(7))
}

// Where the kernel refuses a PID namespace (an unprivileged host), the
// confined child starts without one and adopts its orphans instead. It
// once failed there: the start was retried on the same exec.Cmd, which
// Go refuses ("exec: already started").
func TestStartWithoutPIDNamespaces(t *testing.T) {
	restore := contain.NoPIDNamespaces()
	defer restore()
	res := runConfined(t, contain.Policy{}, "report")
	require.True(t, res.Applied)
	require.False(t, res.Report.PIDNamespace)
	require.True(t, res.Report.Subreaper, "without a namespace the child is a subreaper")
}

// confined is the test binary, run as a child that performs action,
// confined by p through the one hand-off (nil: not confined).
func confined(action string, p *contain.Policy) (*exec.Cmd, error) {
	cmd, _, err := child.Command(os.Args[0], []string{"-test.run=^$"}, childEnv(), testRole, action, p)
	return cmd, err
}
