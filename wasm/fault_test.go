package wasm_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
)

var bg = context.Background()

// A trap in each callback is crashed, naming the trap and the callback;
// the instance is made again (on_load runs again, guest state is lost)
// and the next call works.
func TestTrapInEachCallback(t *testing.T) {
	g := open(t, cbuildWasm(t, "wasm_guest"))
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "count", "{}")))
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "count", "{}")))
	assert.Equal(t, []string{"count:1", "count:2"}, g.lines("count:"))
	for i, tc := range []struct {
		c  clawd.Call
		fn string
	}{
		{clawd.SessionStart("trap"), "on_session_start"},
		{clawd.SessionEnd("trap"), "on_session_end"},
		{clawd.ToolCall("trap", "x", "{}"), "on_tool_call"},
		{clawd.Message("trap", "user", `"x"`), "on_message"},
		{clawd.ToolCall("s", "oob", "{}"), "on_tool_call"},
	} {
		err := g.Call(bg, tc.c)
		codeIs(t, err, clawerr.Crashed, "trap in "+tc.fn+": wasm error:")
		assert.Equal(t, uint64(i+1), g.Crashes())
		assert.Equal(t, uint64(i+1), g.Restarts())
		assert.Equal(t, clawd.StateUp, g.State())
		require.NoError(t, g.Call(bg, clawd.ToolCall("s", "count", "{}")), "the next call works")
	}
	assert.ErrorContains(t, g.Call(bg, clawd.ToolCall("s", "oob", "{}")), "out of bounds memory access")
	// Every instance started over: count is 1 after each restart, and
	// on_load ran once per instance.
	assert.Equal(t, []string{"count:1", "count:2", "count:1", "count:1", "count:1", "count:1", "count:1"}, g.lines("count:"))
	assert.Len(t, g.lines("loads:1"), 7)
	assert.Empty(t, g.lines("loads:2"))
}

func TestExitIsCrashed(t *testing.T) {
	g := open(t, cbuildWasm(t, "wasm_guest"))
	codeIs(t, g.Call(bg, clawd.ToolCall("s", "exit:3", "{}")), clawerr.Crashed, "exited with status 3 in on_tool_call")
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "count", "{}")))
}

func TestTrapInOnUnload(t *testing.T) {
	g := open(t, cbuildWasm(t, "wasm_guest", "-DTRAP_ON_UNLOAD"))
	require.NoError(t, g.Close(), "a faulting on_unload is logged, the plugin closes")
	assert.NotEmpty(t, g.lines("wasm: on_unload faulted"))
	codeIs(t, g.Call(bg, clawd.SessionStart("s")), clawerr.Closed)
}

// An endless loop past its context's deadline is timeout (how late is
// logged, not asserted: a busy machine decides it); the instance is made
// again and the next call succeeds.
func TestEndlessLoopDeadline(t *testing.T) {
	g := open(t, cbuildWasm(t, "wasm_guest"))
	for _, d := range []time.Duration{20 * time.Millisecond, 100 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(bg, d)
		start := time.Now()
		err := g.Call(ctx, clawd.ToolCall("s", "loop", "{}"))
		late := time.Since(start) - d
		cancel()
		codeIs(t, err, clawerr.Timeout, "past its deadline")
		t.Logf("deadline %v: timeout %v after it", d, late)
		require.NoError(t, g.Call(bg, clawd.ToolCall("s", "count", "{}")))
	}
	assert.Equal(t, []string{"count:1", "count:1"}, g.lines("count:"))
}

// No call here must succeed under the timeout, which a busy machine could
// make it miss: TestEndlessLoopDeadline shows the next call succeeds.
func TestCallTimeoutOption(t *testing.T) {
	g := open(t, cbuildWasm(t, "wasm_guest"), clawd.WithCallTimeout(100*time.Millisecond))
	codeIs(t, g.Call(bg, clawd.ToolCall("s", "loop", "{}")), clawerr.Timeout, "past its deadline")
	require.Equal(t, uint64(1), g.Crashes())
}

// A cancellation while the guest spins interrupts it; the context is
// canceled once the guest spins (its event), not after a delay.
func TestCancelMidCall(t *testing.T) {
	sink, spins := spinning()
	g := open(t, cbuildWasm(t, "wasm_guest"), sink)
	ctx, cancel := context.WithCancel(bg)
	go func() { <-spins; cancel() }()
	codeIs(t, g.Call(ctx, clawd.ToolCall("s", "send-loop", "{}")), clawerr.Unavailable, "canceled")
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "count", "{}")))
	codeIs(t, g.Call(ctx, clawd.ToolCall("s", "count", "{}")), clawerr.Unavailable, "not called")
}

// Memory over the cap: the guest's malloc fails, the host's memory stays
// within it.
func TestMemoryOverCap(t *testing.T) {
	g := open(t, cbuildWasm(t, "wasm_guest"), clawd.WithMemoryLimitMB(16))
	err := g.Call(bg, clawd.ToolCall("s", "grow:32", "{}"))
	codeIs(t, err, clawerr.CallbackError)
	assert.ErrorIs(t, err, abi.CallbackError)
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "grow:4", "{}")))
	assert.Equal(t, []string{"grow:null", "grow:ok"}, g.lines("grow:"))
	// The host's own placement of the arguments hits the cap too: refused,
	// not a crash, and the plugin keeps serving.
	big := make([]byte, 20<<20) // a JSON string
	for i := range big {
		big[i] = 'a'
	}
	big[0], big[len(big)-1] = '"', '"'
	codeIs(t, g.Call(bg, clawd.ToolCall("s", "count", string(big))), clawerr.Unavailable, "no memory left")
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "count", "{}")))
}

// The file system is what the capabilities grant: nothing, the project
// directory read-only, or read-write. The guest sees the WASI error.
func TestFileSystemGrants(t *testing.T) {
	proj := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(proj, "data.txt"), []byte("hello from the project\n"), 0o644))
	outside := filepath.Join(t.TempDir(), "secret.txt")
	require.NoError(t, os.WriteFile(outside, []byte("secret\n"), 0o644))
	mod := cbuildWasm(t, "wasm_guest")

	none := open(t, mod, clawd.WithProjectDir(proj))
	codeIs(t, none.Call(bg, clawd.ToolCall("s", "read:data.txt", "{}")), clawerr.CallbackError)
	codeIs(t, none.Call(bg, clawd.ToolCall("s", "write:new.txt", `"x"`)), clawerr.CallbackError)
	assert.Len(t, none.lines("read:err:"), 1)
	assert.Len(t, none.lines("write:err:"), 1)

	ro := open(t, mod, clawd.WithProjectDir(proj), clawd.WithCapabilities(abi.CapFSRead))
	require.NoError(t, ro.Call(bg, clawd.ToolCall("s", "read:data.txt", "{}")))
	require.NoError(t, ro.Call(bg, clawd.ToolCall("s", "read:/data.txt", "{}")))
	assert.Equal(t, []string{"read:ok:hello from the project", "read:ok:hello from the project"}, ro.lines("read:ok:"))
	codeIs(t, ro.Call(bg, clawd.ToolCall("s", "write:new.txt", `"x"`)), clawerr.CallbackError)
	codeIs(t, ro.Call(bg, clawd.ToolCall("s", "read:"+outside, "{}")), clawerr.CallbackError)
	codeIs(t, ro.Call(bg, clawd.ToolCall("s", "read:../"+filepath.Base(filepath.Dir(outside))+"/secret.txt", "{}")), clawerr.CallbackError)
	assert.Len(t, ro.lines("write:err:"), 1)
	assert.Len(t, ro.lines("read:err:"), 2)
	assert.NoFileExists(t, filepath.Join(proj, "new.txt"))

	rw := open(t, mod, clawd.WithProjectDir(proj), clawd.WithCapabilities(abi.CapFSWrite))
	require.NoError(t, rw.Call(bg, clawd.ToolCall("s", "write:new.txt", `{"w":1}`)))
	got, err := os.ReadFile(filepath.Join(proj, "new.txt"))
	require.NoError(t, err)
	assert.Equal(t, `{"w":1}`, string(got))
	codeIs(t, rw.Call(bg, clawd.ToolCall("s", "write:"+outside, `"x"`)), clawerr.CallbackError)
	got, _ = os.ReadFile(outside)
	assert.Equal(t, "secret\n", string(got))
}

// The guest's stdout and stderr are lines of the plugin's log.
func TestStdoutStderrAreLogLines(t *testing.T) {
	g := open(t, cbuildWasm(t, "wasm_guest"))
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "print", "{}")))
	require.NoError(t, g.Close())
	out := g.logs.FilterMessage("out line").All()
	errs := g.logs.FilterMessage("err line").All()
	require.Len(t, out, 1)
	require.Len(t, errs, 1)
	assert.Equal(t, "stdout", out[0].ContextMap()["stream"])
	assert.Equal(t, "wasm_guest", out[0].ContextMap()["plugin"])
	assert.Equal(t, "stderr", errs[0].ContextMap()["stream"])
	assert.Equal(t, "warn", errs[0].Level.String())
}

// Bystanders: while plugins trap, loop and exhaust their memory, another
// plugin's calls all succeed.
func TestBystander(t *testing.T) {
	victim := open(t, cbuildWasm(t, "wasm_guest"), clawd.WithMemoryLimitMB(16))
	bystander := open(t, cbuildWasm(t, "echo"))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var calls, failures int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			calls++
			if err := bystander.Call(bg, clawd.ToolCall("s", "grep", `{"q":1}`)); err != nil {
				failures++
				t.Errorf("bystander: %v", err)
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for i := 0; i < 3; i++ {
		codeIs(t, victim.Call(bg, clawd.ToolCall("s", "trap", "{}")), clawerr.Crashed)
		ctx, cancel := context.WithTimeout(bg, 10*time.Millisecond)
		codeIs(t, victim.Call(ctx, clawd.ToolCall("s", "loop", "{}")), clawerr.Timeout)
		cancel()
		codeIs(t, victim.Call(bg, clawd.ToolCall("s", "grow:64", "{}")), clawerr.CallbackError)
		codeIs(t, victim.Call(bg, clawd.ToolCall("s", "oob", "{}")), clawerr.Crashed, "out of bounds memory access")
		codeIs(t, victim.Call(bg, clawd.ToolCall("s", "recurse", "{}")), clawerr.Crashed, "trap in on_tool_call")
		codeIs(t, victim.Call(bg, clawd.ToolCall("s", "exit:3", "{}")), clawerr.Crashed, "exited with status 3")
		codeIs(t, victim.Call(bg, clawd.SessionStart("trap")), clawerr.Crashed, "trap in on_session_start")
		codeIs(t, victim.Call(bg, clawd.SessionEnd("trap")), clawerr.Crashed, "trap in on_session_end")
		codeIs(t, victim.Call(bg, clawd.Message("trap", "user", `"x"`)), clawerr.Crashed, "trap in on_message")
	}
	// A plugin whose on_load traps on every instantiation fails to
	// open; the bystander's calls go on meanwhile.
	_, err := tryOpen(cbuildWasm(t, "wasm_guest", "-DTRAP_ON_LOAD"))
	codeIs(t, err, clawerr.Crashed, "on_load")
	assert.Equal(t, uint64(3*8), victim.Crashes()) // all but grow, which fails in the guest
	assert.Equal(t, clawd.StateUp, victim.State())
	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	assert.Positive(t, calls)
	assert.Zero(t, failures)
}

// A symlink never leads out of the project directory: one already there
// (to a file or a directory outside) is EPERM for the guest, and a guest
// with fs.write cannot make one.
func TestFileSystemSymlinks(t *testing.T) {
	proj := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.txt")
	require.NoError(t, os.WriteFile(outside, []byte("secret\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(proj, "data.txt"), []byte("inside\n"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(proj, "link.txt")))
	require.NoError(t, os.Symlink(filepath.Dir(outside), filepath.Join(proj, "dirlink")))
	require.NoError(t, os.Symlink("data.txt", filepath.Join(proj, "inner.txt")))
	require.NoError(t, os.Symlink(filepath.Join(filepath.Dir(outside), "new.txt"), filepath.Join(proj, "dangling.txt")))
	mod := cbuildWasm(t, "wasm_guest")
	for _, cap := range []abi.Capability{abi.CapFSRead, abi.CapFSWrite} {
		g := open(t, mod, clawd.WithProjectDir(proj), clawd.WithCapabilities(cap))
		require.NoError(t, g.Call(bg, clawd.ToolCall("s", "read:inner.txt", "{}")), "a symlink inside is followed")
		for _, p := range []string{"link.txt", "dirlink/secret.txt", "dangling.txt"} {
			codeIs(t, g.Call(bg, clawd.ToolCall("s", "read:"+p, "{}")), clawerr.CallbackError)
		}
		codeIs(t, g.Call(bg, clawd.ToolCall("s", "write:dangling.txt", `"x"`)), clawerr.CallbackError)
		codeIs(t, g.Call(bg, clawd.ToolCall("s", "write:dirlink/new.txt", `"x"`)), clawerr.CallbackError)
		codeIs(t, g.Call(bg, clawd.ToolCall("s", "link:"+outside, "{}")), clawerr.CallbackError)
		assert.Equal(t, []string{"read:ok:inside"}, g.lines("read:ok:"), cap)
		assert.Len(t, g.lines("read:err:"), 3, cap)
		assert.Len(t, g.lines("write:err:"), 2, cap)
		assert.Len(t, g.lines("link:err:"), 1, cap)
		assert.NoFileExists(t, filepath.Join(filepath.Dir(outside), "new.txt"))
		assert.NoFileExists(t, filepath.Join(proj, "made-link"))
	}
}
