package loader_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/child"
	"github.com/clawd-go/clawd/internal/threadid"
	"github.com/clawd-go/clawd/loader"
)

// mapped reports whether this process maps the file at path
// (/proc/self/maps), read independently of the loader.
func mapped(t *testing.T, path string) bool {
	t.Helper()
	real, err := filepath.EvalSymlinks(path)
	require.NoError(t, err)
	maps, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	for _, line := range strings.Split(string(maps), "\n") {
		if strings.HasSuffix(line, " "+real) {
			return true
		}
	}
	return false
}

// bystander calls p in a loop from now until the returned stop is called,
// which returns how many calls were made. Every call must succeed.
func bystander(t *testing.T, p clawd.Plugin) (stop func() int) {
	t.Helper()
	first := make(chan struct{})
	done := make(chan int, 1)
	var quit atomic.Bool
	go func() {
		n := 0
		for !quit.Load() {
			if err := toolCall(p, bg, "s", "t", "{}"); err != nil {
				t.Errorf("bystander call %d: %v", n, err)
				break
			}
			if n++; n == 1 {
				close(first)
			}
		}
		done <- n
	}()
	<-first // never: the test binary's -timeout
	return func() int {
		quit.Store(true)
		return <-done
	}
}

// A plugin that cleans up after itself (its threads joined) is unmapped by
// Close.
func TestCloseUnmapsAPluginWithoutThreads(t *testing.T) {
	so := cbuild.Plugin(t, "echo", `-DECHO_NAME="unmapped"`)
	r := open(t, so)
	require.NoError(t, toolCall(r.p, bg, "s", "threads:4", "{}"))
	assert.Contains(t, r.lines(), "threads_joined:4")
	assert.Equal(t, loader.NotClosed, loader.UnloadStateOf(r.p))
	require.True(t, mapped(t, so))
	require.NoError(t, r.p.Close())
	assert.Equal(t, loader.Unmapped, loader.UnloadStateOf(r.p))
	assert.False(t, mapped(t, so), "the library is still in /proc/self/maps")
	assert.Empty(t, r.p.Warnings())
}

// A plugin whose thread is still running after on_unload stays mapped,
// with a warning naming it.
func TestCloseKeepsALingeringThreadsLibraryMapped(t *testing.T) {
	so := cbuild.Plugin(t, "lingering_thread")
	r := open(t, so)
	assert.Equal(t, []string{"thread started"}, r.lines())
	require.NoError(t, r.p.Close())
	assert.Equal(t, loader.KeptMapped, loader.UnloadStateOf(r.p))
	assert.True(t, mapped(t, so), "the library must stay mapped under its thread")
	want := `plugin "lingering_thread": 1 thread started since it was opened still running after it was closed; its library stays mapped`
	w := r.p.Warnings()
	require.Len(t, w, 1)
	assert.True(t, strings.HasPrefix(w[0], want), w[0])
	warned := r.logs.FilterMessage(w[0]).All()
	require.Len(t, warned, 1)
	assert.Equal(t, zapcore.WarnLevel, warned[0].Level)
	assert.Equal(t, "lingering_thread", warned[0].ContextMap()["plugin"])
	assert.Equal(t, clawerr.Closed, clawerr.CodeOf(toolCall(r.p, bg, "s", "t", "{}")))
}

// threadAfterClose is the scenario run in a child: a plugin thread that
// runs the plugin's own code after Close. unmapAlways closes the library
// as the loader did before the census.
type threadAfterCloseReport struct {
	CloseCode string   `json:"close_code"`
	State     string   `json:"state"`
	Mapped    bool     `json:"mapped"`
	Reply     string   `json:"reply"` // what the plugin's thread answered after Close
	Warnings  []string `json:"warnings"`
	Lines     []string `json:"lines"`
}

func childMain(a childArgs) int {
	switch a.Mode {
	case "thread_after_close", "thread_after_close_unmap":
		if a.Mode == "thread_after_close_unmap" {
			loader.SetUnmapAlways(true)
		}
		rep, err := threadAfterClose(a.Lib)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 9
		}
		if err := child.Report(rep); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 9
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown mode", a.Mode)
	return 99
}

func threadAfterClose(so string) (*threadAfterCloseReport, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	core, logs := observer.New(zapcore.DebugLevel)
	p, err := loader.Open(so, clawd.WithLogger(zap.New(core)))
	if err != nil {
		return nil, err
	}
	if err := toolCall(p, context.Background(), "s", fmt.Sprintf("start:%d:%d", inR.Fd(), outW.Fd()), "{}"); err != nil {
		return nil, err
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(outR, b); err != nil || b[0] != 'r' {
		return nil, fmt.Errorf("the thread did not start: %q %v", b, err)
	}
	// The thread is in read() now, called from the library's code.
	rep := &threadAfterCloseReport{CloseCode: string(clawerr.CodeOf(p.Close()))}
	rep.State = loader.UnloadStateOf(p).String()
	rep.Warnings = p.Warnings()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(so)
	if err != nil {
		return nil, err
	}
	rep.Mapped = strings.Contains(string(maps), " "+real+"\n")
	for _, e := range logs.All() {
		rep.Lines = append(rep.Lines, e.Message)
	}
	// Wake the thread: it returns into the library.
	if _, err := inW.Write([]byte("x")); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(outR, b); err != nil {
		return nil, fmt.Errorf("no reply from the thread: %v", err)
	}
	rep.Reply = string(b)
	return rep, nil
}

func runChild(t *testing.T, mode, so string) *child.Result {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	res, err := child.Run(context.Background(), child.Spec{
		Path:     exe,
		Args:     []string{"-test.run=^$"},
		Role:     childRole,
		RoleArgs: childArgs{Mode: mode, Lib: so},
		// atexit_sleep_ms: a -race child otherwise sleeps 1s before exiting.
		// No Timeout: every mode ends by itself, and one that hangs fails
		// the test at the test binary's -timeout, not at a deadline a busy
		// machine could miss.
		Env: append(os.Environ(), "GORACE=atexit_sleep_ms=0"),
	})
	require.NoError(t, err)
	return res
}

// A plugin thread that runs the plugin's code after Close: unmapping the
// library under it kills the host (the first child); the loader keeps it
// mapped, warns, and the thread answers (the second).
func TestThreadAfterCloseDoesNotCrashTheHost(t *testing.T) {
	so := cbuild.Plugin(t, "thread_after_close")

	res := runChild(t, "thread_after_close_unmap", so)
	assert.Equal(t, child.Crashed, res.Status, "without the census the host must crash; stderr: %s", res.Stderr)
	assert.Equal(t, "SIGSEGV", res.Signal, "stderr: %s", res.Stderr)
	assert.Nil(t, res.Payload, "the crashed child reported: %s", res.Payload)

	res = runChild(t, "thread_after_close", so)
	require.Equal(t, child.OK, res.Status, "stderr: %s", res.Stderr)
	var rep threadAfterCloseReport
	require.NoError(t, json.Unmarshal(res.Payload, &rep))
	assert.Equal(t, "", rep.CloseCode, "Close succeeds")
	assert.Equal(t, loader.KeptMapped.String(), rep.State)
	assert.True(t, rep.Mapped, "the library must still be in /proc/self/maps")
	assert.Equal(t, "X", rep.Reply, "the plugin's thread ran its code after Close")
	require.Len(t, rep.Warnings, 1)
	assert.True(t, strings.HasPrefix(rep.Warnings[0], `plugin "thread_after_close": 1 thread started since it was opened still running after it was closed`), rep.Warnings[0])
	assert.Equal(t, []string{"thread started", "on_unload leaves the thread running", rep.Warnings[0]}, rep.Lines)
}

// An on_unload that never returns: Close returns timeout after the bound,
// the library stays mapped, the plugin refuses calls, and another plugin
// serves throughout.
func TestOnUnloadThatNeverReturnsTimesOut(t *testing.T) {
	const bound = 200 * time.Millisecond
	other := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="bystander"`))
	so := cbuild.Plugin(t, "hang_unload")
	r := open(t, so, relay(), loader.WithUnloadTimeout(bound))
	blocking, released := make(chan struct{}, 1), make(chan struct{}, 1)
	r.onSend = func(e clawd.Event) error {
		switch e.Method {
		case "hang_unload.blocking":
			blocking <- struct{}{}
		case "hang_unload.released":
			released <- struct{}{}
		}
		return nil
	}
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { pr.Close() })
	require.NoError(t, toolCall(r.p, bg, "s", fmt.Sprintf("block_on:%d", pr.Fd()), "{}"))

	stop := bystander(t, other.p)
	start := time.Now()
	err = r.p.Close()
	took := time.Since(start)
	n := stop()
	assert.Positive(t, n)

	assert.Equal(t, clawerr.Timeout, clawerr.CodeOf(err), "%v", err)
	assert.ErrorContains(t, err, "on_unload did not return within 200ms")
	// No upper bound on took: on_unload blocks on a pipe this test holds
	// open until below, so a Close that waited for it would never return
	// and the test binary's -timeout would fail the test. A sleep never
	// ends early, so Close giving up before the bound is caught here.
	assert.GreaterOrEqual(t, took, bound)
	<-blocking // the plugin entered on_unload (else the test hangs)
	assert.Equal(t, loader.KeptMapped, loader.UnloadStateOf(r.p))
	assert.True(t, mapped(t, so))
	assert.Equal(t, clawerr.Closed, clawerr.CodeOf(toolCall(r.p, bg, "s", "t", "{}")))
	assert.Equal(t, clawerr.Timeout, clawerr.CodeOf(r.p.Close()), "a second Close returns the first one's result")
	assert.NotContains(t, r.lines(), "send_event failed")
	require.Len(t, r.p.Warnings(), 1)
	assert.Contains(t, r.p.Warnings()[0], "its thread stays blocked in the plugin")

	// The thread was only blocked: released, it finishes on_unload, and
	// the library still stays mapped.
	require.NoError(t, pw.Close())
	<-released // on_unload finishes once released (else the test hangs)
	assert.Contains(t, r.lines(), "on_unload released")
	assert.True(t, mapped(t, so))
	require.NoError(t, toolCall(other.p, bg, "s", "t", "{}"))
}

// An on_load that never returns: Open returns timeout after the bound and
// leaves the library mapped; another plugin serves throughout.
func TestOnLoadThatNeverReturnsTimesOut(t *testing.T) {
	const bound = 200 * time.Millisecond
	other := open(t, cbuild.Plugin(t, "echo", `-DECHO_NAME="bystander"`))
	so := cbuild.Plugin(t, "hang_init")
	hanging := make(chan struct{}, 1)
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core, zap.Hooks(func(e zapcore.Entry) error {
		if e.Message == "hanging" {
			hanging <- struct{}{}
		}
		return nil
	}))

	stop := bystander(t, other.p)
	start := time.Now()
	p, err := loader.Open(so, clawd.WithLogger(log), loader.WithLoadTimeout(bound))
	took := time.Since(start)
	n := stop()
	assert.Positive(t, n)

	require.Nil(t, p)
	assert.Equal(t, clawerr.Timeout, clawerr.CodeOf(err), "%v", err)
	assert.ErrorContains(t, err, "on_load did not return within 200ms")
	// No upper bound on took: on_load sleeps forever, so an Open that
	// waited for it would never return and the test binary's -timeout
	// would fail the test. Giving up before the bound is caught here.
	assert.GreaterOrEqual(t, took, bound)
	<-hanging // the plugin entered on_load (else the test hangs)
	warned := logs.FilterLevelExact(zapcore.WarnLevel).All()
	require.Len(t, warned, 1)
	assert.Equal(t, "hang_init", warned[0].ContextMap()["plugin"])
	assert.True(t, mapped(t, so), "the library must stay mapped under on_load's thread")
}

// Bounded, on_load and on_unload run on a thread of their own; with no
// bound (a negative timeout) on the caller's, as a sandbox child needs.
func TestLifecycleCallbackThread(t *testing.T) {
	for _, c := range []struct {
		name    string
		opts    []clawd.Option
		callers bool
	}{
		{"bounded", nil, false},
		{"unbounded", []clawd.Option{loader.WithLoadTimeout(-1), loader.WithUnloadTimeout(-1)}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			me := threadid.Current()
			var mu sync.Mutex
			seen := map[string]uint64{}
			r := &rig{onSend: func(e clawd.Event) error {
				mu.Lock()
				seen[e.Method] = threadid.Current()
				mu.Unlock()
				return nil
			}}
			p, err := r.open(cbuild.Plugin(t, "echo"), append([]clawd.Option{relay()}, c.opts...)...)
			require.NoError(t, err)
			require.NoError(t, p.Close())
			mu.Lock()
			defer mu.Unlock()
			require.Contains(t, seen, "echo.on_load")
			require.Contains(t, seen, "echo.on_unload")
			assert.Equal(t, c.callers, seen["echo.on_load"] == me, "on_load on the caller's thread")
			assert.Equal(t, c.callers, seen["echo.on_unload"] == me, "on_unload on the caller's thread")
		})
	}
}
