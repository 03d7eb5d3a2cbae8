package host_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/libfile/libfiletest"
)

// The reload test of the issue. One goroutine per plugin dispatches without
// pause while the library of one plugin is replaced 20 times through the
// watcher (write to a temporary file, rename over the entry), alternating
// two builds that report 1.0.0 and 2.0.0, then reloaded 3 times more with
// Reload. Not one dispatch fails, every call reaches exactly one version
// (its outcome and its event agree), every transition is seen, and in the
// end one copy of the plugin is left on disk and mapped.
func TestReloadUnderLoad(t *testing.T) {
	root := t.TempDir()
	v1, v2 := echo(t, "echo", "1.0.0"), echo(t, "echo", "2.0.0")
	builds := map[string][]byte{"1.0.0": read(t, v1), "2.0.0": read(t, v2)}
	dir := plugin(t, root, "echo", "1.0.0", v1, "network.relay")
	entry := filepath.Join(dir, libName("echo"))
	alpha := plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"), "network.relay")
	plugin(t, root, "beta", "1.0.0", echo(t, "beta", "1.0.0"), "network.relay")

	// The sink files each tool call's event under (session, plugin); the
	// dispatcher that made the call checks it against the outcome.
	var evMu sync.Mutex
	evs := map[string][]clawd.Event{}
	r := newRig(t, host.WithPluginDirs(root), host.WithWatch(true), host.WithDebounce(10*time.Millisecond))
	r.onEvent = func(e clawd.Event) error {
		if e.Method == "echo.on_tool_call" {
			p := decode(t, e)
			evMu.Lock()
			evs[p.Session+"/"+e.Plugin] = append(evs[p.Session+"/"+e.Plugin], e)
			evMu.Unlock()
		}
		return nil
	}
	require.NoError(t, r.h.Load(bg))
	for range 9 {
		r.next(t)
	}
	r.takeEvents()

	var (
		stop       atomic.Bool
		dispatches = newProgress()
		failures   atomic.Int64
		perVersion sync.Map // "echo@1.0.0" -> *atomic.Int64
		wg         sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 5 {
			t.Errorf(format, args...)
		}
	}
	for g := range 3 {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				sid := fmt.Sprintf("g%d-%d", g, n)
				outs := r.h.Call(bg, clawd.ToolCall(sid, "t", "{}"))
				if len(outs) != 3 || outs[0].Plugin != "alpha" || outs[1].Plugin != "beta" || outs[2].Plugin != "echo" {
					fail("dispatch %s: outcomes %v", sid, outs)
					continue
				}
				for _, o := range outs {
					if o.Err != nil {
						fail("dispatch %s: %s: %v", sid, o.Plugin, o.Err)
					}
					evMu.Lock()
					got := evs[sid+"/"+o.Plugin]
					delete(evs, sid+"/"+o.Plugin)
					evMu.Unlock()
					if len(got) != 1 {
						fail("dispatch %s: %s sent %d events", sid, o.Plugin, len(got))
						continue
					}
					if v := decode(t, got[0]).Version; v != o.Version || got[0].Version != o.Version {
						fail("dispatch %s: %s: outcome from %s, event from %s (%s)", sid, o.Plugin, o.Version, v, got[0].Version)
					}
					c, _ := perVersion.LoadOrStore(o.Plugin+"@"+o.Version, new(atomic.Int64))
					c.(*atomic.Int64).Add(1)
				}
				dispatches.add()
			}
		})
	}
	// Let at least 20 more dispatches through before each change.
	progress := func() { dispatches.past(20) }
	// After a swap, the very next dispatch goes to the new version.
	versionNow := func() string {
		outs := r.h.Call(bg, clawd.ToolCall("main", "t", "{}"))
		evMu.Lock()
		delete(evs, "main/alpha")
		delete(evs, "main/beta")
		delete(evs, "main/echo")
		evMu.Unlock()
		require.Len(t, outs, 3)
		require.NoError(t, host.Errors(outs))
		return outs[2].Version
	}

	start := time.Now()
	var reloads []string
	for i := range 20 {
		progress()
		want := []string{"2.0.0", "1.0.0"}[i%2]
		replace(t, entry, builds[want])
		tr := r.nextOf(t, "echo")
		reloads = append(reloads, show(tr))
		require.NoError(t, tr.Reason)
		require.Equal(t, want, versionNow())
	}
	watched := time.Since(start)
	for range 3 {
		progress()
		require.NoError(t, r.h.Reload("echo"))
		reloads = append(reloads, show(r.nextOf(t, "echo")))
		require.Equal(t, "1.0.0", versionNow())
	}
	progress()
	stop.Store(true)
	wg.Wait()
	r.settled(t, alpha) // no reload more than the 23

	var want []string
	for i := range 20 {
		want = append(want, "echo active->active "+[]string{"2.0.0", "1.0.0"}[i%2]+" reload")
	}
	want = append(want, "echo active->active 1.0.0 reload", "echo active->active 1.0.0 reload", "echo active->active 1.0.0 reload")
	assert.Equal(t, want, reloads)
	assert.Zero(t, failures.Load())
	for _, k := range []string{"alpha@1.0.0", "beta@1.0.0", "echo@1.0.0", "echo@2.0.0"} {
		c, ok := perVersion.Load(k)
		require.True(t, ok, "no dispatch reached %s", k)
		assert.Positive(t, c.(*atomic.Int64).Load(), k)
	}
	evMu.Lock()
	assert.Empty(t, evs, "an event no dispatch accounts for")
	evMu.Unlock()

	p := info(t, r.h, "echo")
	assert.Equal(t, host.StatusActive, p.State)
	assert.Equal(t, uint64(23), p.Stats.Reloads)
	assert.Zero(t, p.Stats.ReloadFailures)
	// Every event of every instance was delivered: on_load of 24 instances,
	// on_unload of the 23 retired ones, and one per call.
	assert.Equal(t, clawd.Stats{EventsSent: 24 + 23 + p.Stats.Calls}, p.Stats.Context)
	assert.Equal(t, map[clawerr.Code]uint64(nil), p.Stats.Errors)

	// One copy left, and it is the one open.
	left := copies(t, r.h, "echo")
	assert.Equal(t, []string{p.Library}, left)
	if runtime.GOOS == "linux" {
		assert.Equal(t, []string{p.Library}, mappedCopies(t, filepath.Join(host.CacheDirOf(r.h), "echo")),
			"the old copies are unmapped")
	}
	t.Logf("%d dispatches to 3 plugins; 20 watched reloads in %v (%v each, debounce 10ms included)",
		dispatches.load(), watched, watched/20)
}

// A reload that fails at any step keeps the old instance serving and
// reports why; the next good library is swapped in.
func TestFailedReloadKeepsServing(t *testing.T) {
	root := t.TempDir()
	dir := plugin(t, root, "echo", "1.0.0", echo(t, "echo", "1.0.0"), "network.relay")
	entry := filepath.Join(dir, libName("echo"))
	manifestPath := filepath.Join(dir, "plugin.toml")
	goodManifest := read(t, manifestPath)
	r := newRig(t, host.WithPluginDirs(root))
	require.NoError(t, r.h.Load(bg))
	for range 3 {
		r.next(t)
	}
	lib := info(t, r.h, "echo").Library

	cases := []struct {
		name   string
		break_ func()
		code   clawerr.Code
	}{
		{"wrong ABI", func() { replace(t, entry, read(t, cbuild.Plugin(t, "bad_abi"))) }, clawerr.ABIMismatch},
		{"not a library", func() { replace(t, entry, []byte("not a shared library\n")) }, clawerr.OpenFailed},
		{"on_load fails", func() { replace(t, entry, read(t, cbuild.Plugin(t, "on_load_fails"))) }, clawerr.OnLoadFailed},
		{"entry missing", func() { require.NoError(t, os.Remove(entry)) }, clawerr.OpenFailed},
		{"manifest broken", func() { replace(t, manifestPath, []byte("name = \"echo\"\nversion = 1\n")) }, clawerr.ManifestInvalid},
		{"capability unknown", func() {
			replace(t, manifestPath, []byte("name = \"echo\"\nversion = \"1.0.0\"\nentry = \""+libName("echo")+"\"\ncapabilities = [\"net\"]\n"))
		}, clawerr.CapabilityUnknown},
		{"pin mismatch", func() {
			replace(t, manifestPath, append(goodManifest, []byte("sha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"\n")...))
		}, clawerr.ChecksumMismatch},
		// Files that would take SIGBUS in dlopen or block the host: refused
		// before anything maps them, the old copy serving.
		{"truncated library", func() {
			cut := filepath.Join(t.TempDir(), "cut.so")
			libfiletest.Truncated(t, echo(t, "echo", "1.0.0"), cut)
			replace(t, entry, read(t, cut))
		}, clawerr.OpenFailed},
		{"entry is a FIFO", func() {
			require.NoError(t, os.Remove(entry))
			require.NoError(t, mkfifo(entry))
		}, clawerr.OpenFailed},
		{"entry is a directory", func() {
			require.NoError(t, os.Remove(entry))
			require.NoError(t, os.Mkdir(entry, 0o755))
		}, clawerr.OpenFailed},
	}
	ran := 0 // the cases run so far: the failures counted
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "entry is a FIFO" && !haveFIFO {
				t.Skip("no FIFO files on " + runtime.GOOS)
			}
			i := ran
			ran++
			c.break_()
			err := r.h.Reload("echo")
			require.Error(t, err)
			assert.Equal(t, c.code, clawerr.CodeOf(err), "%v", err)
			tr := r.next(t)
			assert.Equal(t, "echo active->active 1.0.0 reload "+string(c.code), show(tr))

			p := info(t, r.h, "echo")
			assert.Equal(t, host.StatusActive, p.State)
			assert.Equal(t, "1.0.0", p.Version)
			assert.Equal(t, c.code, clawerr.CodeOf(p.Reason))
			assert.Equal(t, lib, p.Library, "the old copy still serves")
			assert.Equal(t, uint64(i+1), p.Stats.ReloadFailures)
			assert.Equal(t, []string{lib}, copies(t, r.h, "echo"), "the failed copy is deleted")
			outs := r.h.Call(bg, clawd.ToolCall("s", "t", "{}"))
			require.Len(t, outs, 1)
			assert.NoError(t, outs[0].Err)
			assert.Equal(t, "1.0.0", outs[0].Version)
			assert.Equal(t, 1, r.logs.FilterMessage("reload failed; the loaded version keeps serving").Len()-i)

			// Repair for the next case.
			replace(t, manifestPath, goodManifest)
			if st, err := os.Lstat(entry); err == nil && !st.Mode().IsRegular() {
				require.NoError(t, os.Remove(entry))
			}
			replace(t, entry, read(t, echo(t, "echo", "1.0.0")))
		})
	}

	replace(t, entry, read(t, echo(t, "echo", "2.0.0")))
	require.NoError(t, r.h.Reload("echo"))
	assert.Equal(t, "echo active->active 2.0.0 reload", show(r.next(t)))
	p := info(t, r.h, "echo")
	assert.Nil(t, p.Reason, "a successful reload clears the last failure")
	assert.Equal(t, "2.0.0", p.Version)
	assert.Equal(t, uint64(1), p.Stats.Reloads)
	assert.Len(t, copies(t, r.h, "echo"), 1)

	assert.ErrorIs(t, r.h.Reload("nobody"), host.ErrUnknownPlugin)
}

// Through the watcher: a bad library is reported and the old one serves;
// removing the plugin's directory stops it cleanly; putting it back loads
// it again; a new directory is loaded.
func TestWatcherAddRemoveAndFail(t *testing.T) {
	root := t.TempDir()
	dir := plugin(t, root, "echo", "1.0.0", echo(t, "echo", "1.0.0"), "network.relay")
	alpha := plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"), "network.relay")
	r := newRig(t, host.WithPluginDirs(root), host.WithWatch(true), host.WithDebounce(20*time.Millisecond))
	require.NoError(t, r.h.Load(bg))
	for range 6 {
		r.next(t)
	}

	// A library that fails: reported, the old one keeps serving.
	replace(t, filepath.Join(dir, libName("echo")), read(t, cbuild.Plugin(t, "bad_abi")))
	assert.Equal(t, "echo active->active 1.0.0 reload abi_mismatch", show(r.nextOf(t, "echo")))
	assert.Equal(t, clawerr.ABIMismatch, clawerr.CodeOf(info(t, r.h, "echo").Reason))
	require.NoError(t, host.Errors(r.h.Call(bg, clawd.ToolCall("s", "t", "{}"))))
	// A file the manifest does not name changes nothing.
	writeFile(t, filepath.Join(dir, "notes.txt"), []byte("x"))
	r.settled(t, alpha)

	// Remove the directory: drained, on_unload, closed, stopped.
	r.takeEvents()
	require.NoError(t, os.RemoveAll(dir))
	assert.Equal(t, "echo active->stopped 1.0.0", show(r.nextOf(t, "echo")))
	var unloads []string
	for _, e := range r.takeEvents() {
		if e.Method == "echo.on_unload" {
			unloads = append(unloads, e.Plugin)
		}
	}
	assert.Equal(t, []string{"echo"}, unloads)
	p := info(t, r.h, "echo")
	assert.Equal(t, host.StatusStopped, p.State)
	assert.Nil(t, p.Reason)
	assert.Empty(t, p.Library)
	assert.Empty(t, copies(t, r.h, "echo"))
	assert.Equal(t, []string{"alpha"}, outcomeNames(r.h.Call(bg, clawd.ToolCall("s", "t", "{}"))))

	// Put it back (built elsewhere, moved in whole): loaded again.
	staging := filepath.Join(t.TempDir(), "echo")
	require.NoError(t, os.Mkdir(staging, 0o755))
	copyFile(t, echo(t, "echo", "2.0.0"), filepath.Join(staging, libName("echo")))
	writeTOML(t, staging, "echo", "2.0.0", "network.relay")
	require.NoError(t, os.Rename(staging, dir))
	got := []string{show(r.nextOf(t, "echo")), show(r.nextOf(t, "echo")), show(r.nextOf(t, "echo"))}
	assert.Equal(t, []string{"echo stopped->resolved 2.0.0", "echo resolved->loaded 2.0.0", "echo loaded->active 2.0.0"}, got)

	// A new plugin written in place, file by file: loaded once complete.
	gdir := filepath.Join(root, "gamma")
	require.NoError(t, os.Mkdir(gdir, 0o755))
	copyFile(t, echo(t, "gamma", "1.0.0"), filepath.Join(gdir, libName("gamma")))
	writeTOML(t, gdir, "gamma", "1.0.0", "network.relay")
	got = []string{show(r.nextOf(t, "gamma")), show(r.nextOf(t, "gamma")), show(r.nextOf(t, "gamma"))}
	assert.Equal(t, []string{"gamma none->resolved 1.0.0", "gamma resolved->loaded 1.0.0", "gamma loaded->active 1.0.0"}, got)
	assert.Equal(t, []string{"alpha", "echo", "gamma"}, outcomeNames(r.h.Call(bg, clawd.ToolCall("s", "t", "{}"))))
}

// A call running on the old instance when the swap happens finishes there;
// dispatches made meanwhile already reach the new one; Reload returns once
// the old one has drained and closed.
func TestReloadDrainsCallsInFlight(t *testing.T) {
	root := t.TempDir()
	dir := plugin(t, root, "echo", "1.0.0", echo(t, "echo", "1.0.0"), "network.relay")
	r := newRig(t, host.WithPluginDirs(root))
	// The slow call waits in the sink, inside the plugin, until the test
	// releases it, then sleeps 400 ms: it is in flight for as long as the
	// test needs, however slow the machine.
	inside, release := make(chan struct{}, 1), make(chan struct{})
	r.onEvent = func(e clawd.Event) error {
		if e.Method == "echo.on_tool_call" && decode(t, e).Tool == "sleep:400" {
			inside <- struct{}{}
			<-release
		}
		return nil
	}
	require.NoError(t, r.h.Load(bg))

	slow := make(chan []host.Outcome, 1)
	var slowDone atomic.Bool
	go func() {
		outs := r.h.Call(bg, clawd.ToolCall("slow", "sleep:400", "{}"))
		slowDone.Store(true)
		slow <- outs
	}()
	<-inside // the call is in the plugin

	replace(t, filepath.Join(dir, libName("echo")), read(t, echo(t, "echo", "2.0.0")))
	reloaded := make(chan error, 1)
	var slept int // the slow call's "slept" lines when Reload returned
	go func() {
		err := r.h.Reload("echo")
		slept = count(r.lines("echo"), "slept:400")
		reloaded <- err
	}()
	// The registry shows the new version as soon as it is swapped in (a
	// dispatch made before that would queue behind the slow call: calls
	// into one instance are serialized). Nothing signals the swap itself:
	// the host publishes the reload's transition only once the old
	// instance has drained, which waits for this test's release. So this
	// polls, with no deadline: never is the test binary's -timeout.
	for info(t, r.h, "echo").Version != "2.0.0" {
		time.Sleep(time.Millisecond)
	}
	fast := r.h.Call(bg, clawd.ToolCall("fast", "t", "{}"))
	require.NoError(t, host.Errors(fast))
	assert.Equal(t, "2.0.0", fast[0].Version)
	assert.False(t, slowDone.Load(), "the new instance serves while the old one still runs a call")

	close(release)
	outs := <-slow
	require.NoError(t, <-reloaded)
	require.Len(t, outs, 1)
	assert.NoError(t, outs[0].Err)
	assert.Equal(t, "1.0.0", outs[0].Version, "the call in flight finished on the old instance")
	// The old instance drains when its call returns, after the plugin slept
	// 400 ms from its release and logged it: Reload cannot have returned
	// before the line (the order of the two, not a duration).
	assert.Equal(t, 1, slept, "Reload returned before the call in flight drained")
	assert.Equal(t, 1, count(r.lines("echo"), "slept:400"))
	assert.Len(t, copies(t, r.h, "echo"), 1)
}

// Add loads a directory outside the plugin directories; an added plugin
// overrides a discovered one of the same name (swapped in like a reload).
func TestAdd(t *testing.T) {
	root, other := t.TempDir(), t.TempDir()
	plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"), "network.relay")
	r := newRig(t, host.WithPluginDirs(root))
	require.NoError(t, r.h.Load(bg))
	for range 3 {
		r.next(t)
	}

	dir := plugin(t, other, "alpha", "2.0.0", echo(t, "alpha", "2.0.0"), "network.relay")
	require.NoError(t, r.h.Add(dir))
	assert.Equal(t, "alpha active->active 2.0.0 reload", show(r.next(t)))
	p := info(t, r.h, "alpha")
	assert.Equal(t, dir, p.Dir)
	assert.Equal(t, "2.0.0", p.Version)
	assert.Contains(t, p.Warnings, "overrides the plugin of the same name in "+filepath.Join(root, "alpha"))

	gdir := plugin(t, other, "gamma", "1.0.0", echo(t, "gamma", "1.0.0"), "network.relay")
	require.NoError(t, r.h.Add(gdir))
	assert.Equal(t, []string{"gamma none->resolved 1.0.0", "gamma resolved->loaded 1.0.0", "gamma loaded->active 1.0.0"},
		[]string{show(r.next(t)), show(r.next(t)), show(r.next(t))})
	assert.Equal(t, []string{"alpha", "gamma"}, outcomeNames(r.h.Call(bg, clawd.SessionStart("s"))))

	empty := filepath.Join(other, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	err := r.h.Add(empty)
	assert.Equal(t, clawerr.ManifestInvalid, clawerr.CodeOf(err))
	assert.Equal(t, "empty none->failed  manifest_invalid", show(r.next(t)))
	assert.Equal(t, host.StatusFailed, info(t, r.h, "empty").State)
}
