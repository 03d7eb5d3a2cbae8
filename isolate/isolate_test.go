package isolate_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
	"github.com/clawd-go/clawd/loader"
)

func TestCallsLogsAndEventsCrossTheBoundary(t *testing.T) {
	lib := cbuild.Plugin(t, "echo")
	r := open(t, lib, clawd.WithCapabilities(abi.CapNetworkRelay))
	p := r.p
	require.Equal(t, "echo", p.Name())
	require.Equal(t, "1.0.0", p.Version())
	require.Equal(t, uint32(1), p.ABIVersion())
	require.Equal(t, lib, p.Path())
	require.True(t, p.Has(abi.OnToolCall))
	require.Len(t, p.Callbacks(), 6)
	require.NotZero(t, p.PID())
	require.NotEqual(t, os.Getpid(), p.PID())

	require.NoError(t, p.ToolCall(bg, "s1", "grep", `{"pattern":"x"}`))
	// The call's own log lines arrive before its result, in order.
	msgs := r.messages()
	require.Contains(t, msgs, "on_tool_call")
	require.Contains(t, msgs, `input:{"pattern":"x"}`)
	for _, e := range r.logs.FilterMessage("on_tool_call").All() {
		require.Equal(t, "echo", e.ContextMap()["plugin"])
		require.Equal(t, "1.0.0", e.ContextMap()["version"])
	}
	r.mu.Lock()
	require.NotEmpty(t, r.events)
	ev := r.events[len(r.events)-1]
	r.mu.Unlock()
	require.Equal(t, "echo.on_tool_call", ev.Method)
	require.Equal(t, "echo", ev.Plugin)
	require.Contains(t, string(ev.Params), `"tool":"grep"`)
	require.Contains(t, msgs, "send_event:0")

	require.NoError(t, p.SessionStart(bg, "s1"))
	require.NoError(t, p.Message(bg, "s1", "user", `"hi"`))
	require.NoError(t, p.SessionEnd(bg, "s1"))

	requireCallbackCode(t, p.ToolCall(bg, "s1", "fail", "{}"), abi.CallbackError)
	requireCallbackCode(t, p.ToolCall(bg, "s1", "notfound", "{}"), abi.NotFound)
	err := p.ToolCall(bg, "s1", "code:42", "{}")
	requireCode(t, err, clawerr.UnknownCode)
	var uc *abi.UnknownCodeError
	require.ErrorAs(t, err, &uc)
	require.Equal(t, int32(42), uc.Code)
	// An interior NUL is refused by the loader in the child, by name.
	ce := requireCode(t, p.ToolCall(bg, "s1", "t\x00ol", "{}"), clawerr.InvalidArgument)
	require.Contains(t, ce.Error(), "tool_name")

	st := p.Stats()
	require.GreaterOrEqual(t, st.EventsSent, uint64(5))
	require.Zero(t, st.Panics)
}

func TestSinkAnswerReachesThePlugin(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), clawd.WithCapabilities(abi.CapNetworkRelay))
	r.onEvent = func(clawd.Event) error { return abi.NotFound }
	require.NoError(t, r.p.ToolCall(bg, "s1", "t", "{}"))
	r.logged(t, "send_event:4")
	// Without network.relay the loader in the child refuses the event.
	r2 := open(t, cbuild.Plugin(t, "echo"))
	require.NoError(t, r2.p.ToolCall(bg, "s1", "t", "{}"))
	r2.logged(t, "send_event:3")
}

func TestSinkMayCallBackIntoThePlugin(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), clawd.WithCapabilities(abi.CapNetworkRelay))
	var nested atomic.Int32
	r.onEvent = func(e clawd.Event) error {
		if e.Method == "echo.reenter" {
			nested.Add(1)
			return r.p.ToolCall(bg, "s1", "inner", "{}")
		}
		return nil
	}
	require.NoError(t, r.p.ToolCall(bg, "s1", "reenter", "{}"))
	require.Equal(t, int32(1), nested.Load())
	r.logged(t, "reenter_send_event:0")
	require.Contains(t, r.messages(), "tool:inner")
	// Close from inside the sink is refused, as in process.
	r.onEvent = func(e clawd.Event) error {
		requireCode(t, r.p.Close(), clawerr.InvalidArgument)
		return nil
	}
	require.NoError(t, r.p.ToolCall(bg, "s1", "t", "{}"))
}

func TestEventsFromPluginThreads(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), clawd.WithCapabilities(abi.CapNetworkRelay))
	var fromThreads atomic.Int32
	r.onEvent = func(e clawd.Event) error {
		if strings.HasPrefix(e.Method, "echo.thread") {
			fromThreads.Add(1)
		}
		return nil
	}
	require.NoError(t, r.p.ToolCall(bg, "s1", "threads:4", "{}"))
	r.logged(t, "thread_send_failures:0")
	require.Positive(t, fromThreads.Load(), "no event came from the plugin's threads")
}

// faults are the ways a plugin takes its process down inside on_tool_call,
// with what the crash report must say.
var faults = []struct {
	tool string
	want *regexp.Regexp
}{
	{"segv", crashReport(`signal SIGSEGV`, `exception 0xC0000005 \(access violation\)`)},
	// msvcrt's abort exits with status 3; the UCRT's fails fast.
	{"abort", crashReport(`signal SIGABRT`, `exited with status 3$|exception 0xC0000409`)},
	{"exit0", regexp.MustCompile(`exited with status 0`)},
}

// crashReport is what a crash's detail must match: on Unix the signal, on
// Windows the exception or status the process ended with.
func crashReport(unix, windows string) *regexp.Regexp {
	if runtime.GOOS == "windows" {
		return regexp.MustCompile(windows)
	}
	return regexp.MustCompile(unix)
}

func TestCrashIsContainedAndRestarted(t *testing.T) {
	lib := cbuild.Plugin(t, "hostile")
	others := startBystanders(t)
	for _, f := range faults {
		t.Run(f.tool, func(t *testing.T) {
			r := open(t, lib, isolate.WithRestart(5, 20*time.Millisecond, time.Second))
			before := r.p.PID()
			require.NoError(t, r.p.ToolCall(bg, "s1", "ok", "{}"))
			ce := requireCode(t, r.p.ToolCall(bg, "s1", f.tool, "{}"), clawerr.Crashed)
			require.Regexp(t, f.want, ce.Detail)
			require.Equal(t, "on_tool_call", ce.Op)
			require.Equal(t, "hostile", ce.Plugin)
			require.Equal(t, uint64(1), r.p.Crashes())
			// The child's stderr tail is in the report when it wrote any.
			// (Under Wine a faulting child writes none.)
			if (f.tool == "abort" || f.tool == "segv") && runtime.GOOS != "windows" {
				require.Contains(t, ce.Detail, "last stderr lines")
			}
			r.waitUp()
			require.NotEqual(t, before, r.p.PID())
			require.NoError(t, r.p.ToolCall(bg, "s1", "ok", "{}"))
			require.Equal(t, uint64(1), r.p.Restarts())
			// The notifier reports the states on a goroutine of its own:
			// wait until both arrived.
			r.until(func() bool { return len(r.sawStates()) >= 2 })
			require.Equal(t, []clawd.State{clawd.StateDown, clawd.StateUp}, r.sawStates())
		})
	}
	others.check(t)
}

func TestHangIsKilledAtTheDeadline(t *testing.T) {
	lib := cbuild.Plugin(t, "hostile")
	others := startBystanders(t)

	r := open(t, lib, clawd.WithCallTimeout(300*time.Millisecond), isolate.WithRestart(5, 10*time.Millisecond, time.Second))
	// The loop never ends: were the deadline not to fire, the call would
	// never return and the test binary's -timeout would fail the test. The
	// detail names the timeout that fired, and the looping process is gone
	// (reaped) by the time the call returns, not left to spin.
	hung := r.p.PID()
	ce := requireCode(t, r.p.ToolCall(bg, "s1", "loop", "{}"), clawerr.Timeout)
	require.Contains(t, ce.Detail, "did not answer within 300ms")
	require.False(t, running(hung), "the looping process %d still runs", hung)
	r.waitUp()

	// Without a call timeout (a call that must succeed has no deadline to
	// miss on a busy machine), a context's deadline counts too, and is
	// what the error wraps.
	r = open(t, lib, isolate.WithRestart(5, 10*time.Millisecond, time.Second))
	require.NoError(t, r.p.ToolCall(bg, "s1", "ok", "{}"))
	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer cancel()
	err := r.p.ToolCall(ctx, "s1", "loop", "{}")
	requireCode(t, err, clawerr.Timeout)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	r.waitUp()

	// So does cancellation, made once the plugin is in on_tool_call (it
	// logs the callback's name, then spins), so never before the call.
	before := r.logs.FilterMessage("on_tool_call").Len()
	ctx2, cancel2 := context.WithCancel(bg)
	defer cancel2()
	go func() {
		r.until(func() bool { return r.logs.FilterMessage("on_tool_call").Len() > before })
		cancel2()
	}()
	err = r.p.ToolCall(ctx2, "s1", "loop", "{}")
	requireCode(t, err, clawerr.Timeout)
	require.ErrorIs(t, err, context.Canceled)
	r.waitUp()
	require.NoError(t, r.p.ToolCall(bg, "s1", "ok", "{}"))
	others.check(t)
}

func TestCallsWhileDownAreRefusedAtOnce(t *testing.T) {
	// The restart is an hour away: a call that waited for it would not
	// return before the test binary's -timeout fails the test.
	r := open(t, cbuild.Plugin(t, "hostile"), isolate.WithRestart(5, time.Hour, time.Hour))
	requireCode(t, r.p.ToolCall(bg, "s1", "segv", "{}"), clawerr.Crashed)
	require.Equal(t, clawd.StateDown, r.p.State())
	err := r.p.ToolCall(bg, "s1", "ok", "{}")
	requireCode(t, err, clawerr.Unavailable)
	require.ErrorIs(t, err, clawerr.Crashed, "the reason is the crash")
	require.Equal(t, clawd.StateDown, r.p.State())
	// Close ends the pending restart; the refused call left nothing behind.
	require.NoError(t, r.p.Close())
}

func TestRestartsAreGivenUp(t *testing.T) {
	// A copy of the library that disappears: every restart fails to load.
	dir := t.TempDir()
	lib := filepath.Join(dir, "hostile.so")
	data, err := os.ReadFile(cbuild.Plugin(t, "hostile"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(lib, data, 0o755))
	r := open(t, lib, isolate.WithRestart(2, 10*time.Millisecond, 20*time.Millisecond))
	// Renamed away, not removed: Windows refuses to delete a DLL a process has loaded.
	require.NoError(t, os.Rename(lib, lib+".gone"))
	requireCode(t, r.p.ToolCall(bg, "s1", "abort", "{}"), clawerr.Crashed)
	// The state is stored before the notifier, on a goroutine of its own,
	// reports it: wait for both.
	r.until(func() bool { return r.p.State() == clawd.StateFailed && len(r.sawStates()) >= 2 })
	err = r.p.ToolCall(bg, "s1", "ok", "{}")
	ce := requireCode(t, err, clawerr.Unavailable)
	require.Contains(t, ce.Detail, "not restarted any more")
	require.ErrorIs(t, err, clawerr.OpenFailed, "the reason is the last restart's failure")
	require.Equal(t, []clawd.State{clawd.StateDown, clawd.StateFailed}, r.sawStates())
}

func TestAddressSpaceLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("rlimits are applied on Linux")
	}
	const limit = 2 << 30 // the Go runtime alone reserves about 1.5 GiB of it
	r := open(t, cbuild.Plugin(t, "hostile"), isolate.WithLimits(isolate.Limits{AddressSpace: limit}))
	requireCallbackCode(t, r.p.ToolCall(bg, "s1", "alloc", "{}"), abi.DaemonError)
	line := r.logged(t, "alloc: refused after ")
	mib, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(line, "alloc: refused after "), " MiB"))
	require.NoError(t, err)
	require.Positive(t, mib)
	require.Less(t, mib, limit>>20, "the plugin got more than the limit")
	// The child lives on.
	require.NoError(t, r.p.ToolCall(bg, "s1", "ok", "{}"))
	require.Zero(t, r.p.Crashes())
}

func TestFilesOutsideTheGrantAreRefusedByTheKernel(t *testing.T) {
	requireLandlock(t)
	project := t.TempDir()
	inside := filepath.Join(project, "notes.txt")
	require.NoError(t, os.WriteFile(inside, []byte("x"), 0o644))
	outside := filepath.Join(t.TempDir(), "secret.txt")
	require.NoError(t, os.WriteFile(outside, []byte("x"), 0o644))
	lib := cbuild.Plugin(t, "hostile")

	t.Run("no grant", func(t *testing.T) {
		r := open(t, lib, clawd.WithProjectDir(project))
		requireCallbackCode(t, r.p.ToolCall(bg, "s1", "read:"+outside, "{}"), abi.CapabilityDenied)
		require.Contains(t, r.logged(t, "read: "), "EACCES")
		requireCallbackCode(t, r.p.ToolCall(bg, "s1", "read:"+inside, "{}"), abi.CapabilityDenied)
		requireCallbackCode(t, r.p.ToolCall(bg, "s1", "read:/etc/passwd", "{}"), abi.CapabilityDenied)
	})
	t.Run("fs.read", func(t *testing.T) {
		r := open(t, lib, clawd.WithProjectDir(project), clawd.WithCapabilities(abi.CapFSRead))
		require.NoError(t, r.p.ToolCall(bg, "s1", "read:"+inside, "{}"))
		requireCallbackCode(t, r.p.ToolCall(bg, "s1", "write:"+inside, "{}"), abi.CapabilityDenied)
		require.Contains(t, r.logged(t, "write: "), "EACCES")
		requireCallbackCode(t, r.p.ToolCall(bg, "s1", "read:"+outside, "{}"), abi.CapabilityDenied)
	})
	t.Run("fs.write", func(t *testing.T) {
		r := open(t, lib, clawd.WithProjectDir(project), clawd.WithCapabilities(abi.CapFSWrite))
		require.NoError(t, r.p.ToolCall(bg, "s1", "write:"+filepath.Join(project, "new.txt"), "{}"))
		data, err := os.ReadFile(filepath.Join(project, "new.txt"))
		require.NoError(t, err)
		require.Equal(t, "written\n", string(data))
		requireCallbackCode(t, r.p.ToolCall(bg, "s1", "write:"+outside, "{}"), abi.CapabilityDenied)
	})
	t.Run("without landlock", func(t *testing.T) {
		r := open(t, lib, isolate.WithoutLandlock())
		require.NoError(t, r.p.ToolCall(bg, "s1", "read:"+outside, "{}"))
		require.False(t, r.p.Containment().Filesystem)
	})
}

func TestTCPIsRefusedByTheKernel(t *testing.T) {
	requireLandlock(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var accepted atomic.Int32
	acceptedOne := make(chan struct{}, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
			acceptedOne <- struct{}{}
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	r := open(t, cbuild.Plugin(t, "hostile"))
	requireCallbackCode(t, r.p.ToolCall(bg, "s1", "connect:"+port, "{}"), abi.CapabilityDenied)
	require.Contains(t, r.logged(t, "connect: "), "EACCES")
	requireCallbackCode(t, r.p.ToolCall(bg, "s1", "bind:0", "{}"), abi.CapabilityDenied)
	require.Contains(t, r.logged(t, "bind: "), "EACCES")
	// The plugin's connects returned before its calls did. One connection of
	// our own, accepted after anything queued before it, tells when the
	// listener has seen all there was.
	c0, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	c0.Close()
	<-acceptedOne
	require.Equal(t, int32(1), accepted.Load(), "the listener accepted a connection from the sandbox")

	c := r.p.Containment()
	require.True(t, c.TCP)
	require.True(t, c.Filesystem)
	require.True(t, c.NoNewPrivs)
	require.True(t, c.DieWithParent)
	require.Positive(t, c.LandlockABI)
}

func TestPluginCannotSignalTheHost(t *testing.T) {
	requireLandlock(t)
	r := open(t, cbuild.Plugin(t, "hostile"))
	if !r.p.Containment().Signals {
		t.Skip("Landlock signal scoping needs ABI 6: " + r.p.Containment().String())
	}
	err := r.p.ToolCall(bg, "s1", "kill_parent", "{}")
	if r.p.Containment().PIDNamespace {
		// The host is outside the child's PID namespace: its pid names
		// no process there.
		requireCallbackCode(t, err, abi.DaemonError)
		require.Contains(t, r.logged(t, "kill_parent: errno"), "errno 3 (")
		return
	}
	requireCallbackCode(t, err, abi.CapabilityDenied)
	r.logged(t, "kill_parent: errno")
}

func TestStdoutDoesNotDisturbTheChannel(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "hostile"))
	for i := 0; i < 200; i++ {
		require.NoError(t, r.p.ToolCall(bg, "s1", "ok", "{}"))
	}
	require.Zero(t, r.p.Crashes())
	require.Len(t, r.logs.FilterMessage("on_tool_call").All(), 200)
}

func TestOpenFailures(t *testing.T) {
	cases := []struct {
		plugin string
		code   clawerr.Code
		opts   []clawd.Option
	}{
		{"bad_abi", clawerr.ABIMismatch, nil},
		{"reserved_slot", clawerr.ReservedSlotSet, nil},
		{"on_load_fails", clawerr.OnLoadFailed, nil},
		{"missing_init", clawerr.MissingInit, nil},
		{"crash_init", clawerr.Crashed, nil},
		{"exit_init", clawerr.Crashed, nil},
		{"hang_init", clawerr.Timeout, []clawd.Option{isolate.WithOpenTimeout(500 * time.Millisecond)}},
	}
	for _, c := range cases {
		t.Run(c.plugin, func(t *testing.T) {
			_, err := tryOpen(t, cbuild.Plugin(t, c.plugin), c.opts...)
			requireCode(t, err, c.code)
		})
	}
	_, err := tryOpen(t, filepath.Join(t.TempDir(), "absent.so"))
	requireCode(t, err, clawerr.OpenFailed)
}

func TestCloseRunsOnUnloadOnce(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "hostile"))
	pid := r.p.PID()
	require.NoError(t, r.p.Close())
	r.logged(t, "on_unload")
	require.NoError(t, r.p.Close())
	require.Len(t, r.logs.FilterMessage("on_unload").All(), 1)
	requireCode(t, r.p.ToolCall(bg, "s1", "ok", "{}"), clawerr.Closed)
	require.Equal(t, clawd.StateClosed, r.p.State())
	// Polled: the child is the plugin's to wait for, and the test has no
	// other portable way to learn that it exited. A child that outlives
	// Close fails the test at the test binary's -timeout.
	for alive(pid) {
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExecutableMustServeAsChild(t *testing.T) {
	// /bin/true never calls Main: it exits without a hello.
	_, err := tryOpen(t, cbuild.Plugin(t, "echo"), isolate.WithExecutable("/bin/true"))
	requireCode(t, err, clawerr.Crashed)
}

func requireLandlock(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("Landlock is Linux's")
	}
	r := open(t, cbuild.Plugin(t, "minimal"))
	if c := r.p.Containment(); c.LandlockABI == 0 && os.Getenv("CI") == "" {
		t.Skip("this kernel has no Landlock: " + c.String())
	}
}

// bystanders are other plugins called in a loop while a test makes one
// plugin fail: one in its own sandbox child, one in process.
type bystanders struct {
	stop  chan struct{}
	wg    sync.WaitGroup
	calls atomic.Int64
	mu    sync.Mutex
	errs  []error
}

func startBystanders(t *testing.T) *bystanders {
	t.Helper()
	b := &bystanders{stop: make(chan struct{})}
	var first sync.WaitGroup // each has made a call: check's count is never 0
	sandboxed := open(t, cbuild.Plugin(t, "echo"))
	native, err := loader.Open(cbuild.Plugin(t, "echo"))
	require.NoError(t, err)
	t.Cleanup(func() { native.Close() })
	for _, call := range []func() error{
		func() error { return sandboxed.p.ToolCall(bg, "s1", "bystander", "{}") },
		func() error { return native.Call(bg, clawd.ToolCall("s1", "bystander", "{}")) },
	} {
		b.wg.Add(1)
		first.Add(1)
		go func() {
			defer b.wg.Done()
			for n := 0; ; n++ {
				select {
				case <-b.stop:
					return
				default:
				}
				if err := call(); err != nil {
					b.mu.Lock()
					b.errs = append(b.errs, err)
					b.mu.Unlock()
				}
				b.calls.Add(1)
				if n == 0 {
					first.Done()
				}
				time.Sleep(time.Millisecond) // pacing, not waiting
			}
		}()
	}
	first.Wait()
	return b
}

func (b *bystanders) check(t *testing.T) {
	t.Helper()
	close(b.stop)
	b.wg.Wait()
	require.Empty(t, b.errs, "calls into other plugins failed during the fault")
	require.Positive(t, b.calls.Load())
	t.Logf("%d calls into other plugins during the faults, all succeeded", b.calls.Load())
}

func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie has died; only its parent has not collected it yet.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
