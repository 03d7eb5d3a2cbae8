package host_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/manifest"
)

// Two plugin directories, a user one and a project one: a broken manifest
// and a library with the wrong ABI fail with their codes, a name in both
// directories comes from the later one, and the others load.
func TestDiscoveryLoadsAllButTheBroken(t *testing.T) {
	user, project := t.TempDir(), t.TempDir()
	plugin(t, user, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"), "network.relay")
	plugin(t, user, "beta", "1.0.0", echo(t, "beta", "1.0.0"), "network.relay")
	broken := filepath.Join(user, "broken")
	require.NoError(t, os.Mkdir(broken, 0o755))
	writeFile(t, filepath.Join(broken, "plugin.toml"), []byte("name = \"broken\"\nversion = \"1.0.0\"\nentry = \"libbroken.so\"\ncapabilites = []\n"))
	require.NoError(t, os.Mkdir(filepath.Join(user, "notes"), 0o755)) // no manifest: not a plugin
	writeFile(t, filepath.Join(user, "README"), []byte("not a directory"))

	betaDir := filepath.Join(project, "beta")
	require.NoError(t, os.Mkdir(betaDir, 0o755))
	copyFile(t, echo(t, "beta", "2.0.0"), filepath.Join(betaDir, libName("beta")))
	writeFile(t, filepath.Join(betaDir, "clawd-plugin.json"), []byte(`{"name":"beta","version":"2.0.0","runtime":"dylib",
		"entry":"`+libName("beta")+`","capabilities":["network.relay"],"signature":""}`))
	plugin(t, project, "badabi", "1.0.0", cbuild.Plugin(t, "bad_abi"))

	r := newRig(t, host.WithPluginDirs(user, project))
	err := r.h.Load(bg)
	require.Error(t, err)
	assert.ErrorIs(t, err, clawerr.ABIMismatch)
	assert.ErrorIs(t, err, clawerr.ManifestInvalid)

	ps := r.h.Plugins()
	require.Equal(t, []string{"alpha", "badabi", "beta", "broken"}, names(ps))
	alpha, badabi, beta, brk := ps[0], ps[1], ps[2], ps[3]

	assert.Equal(t, host.StatusActive, alpha.State)
	assert.Equal(t, "1.0.0", alpha.Version)
	assert.Nil(t, alpha.Reason)
	assert.Equal(t, filepath.Join(user, "alpha"), alpha.Dir)
	assert.Equal(t, []abi.Capability{abi.CapNetworkRelay}, alpha.Granted)
	assert.Empty(t, alpha.Refused)
	assert.Contains(t, alpha.Warnings, "unsigned (policy warn)")
	assert.Equal(t, []abi.Callback{abi.OnLoad, abi.OnUnload, abi.OnSessionStart, abi.OnSessionEnd, abi.OnToolCall, abi.OnMessage}, alpha.Callbacks)
	assert.True(t, strings.HasPrefix(alpha.Library, filepath.Join(host.CacheDirOf(r.h), "alpha")+string(filepath.Separator)), alpha.Library)

	assert.Equal(t, host.StatusFailed, badabi.State)
	assert.Equal(t, clawerr.ABIMismatch, clawerr.CodeOf(badabi.Reason))
	assert.Empty(t, badabi.Library)
	assert.Empty(t, copies(t, r.h, "badabi"), "a copy that failed to load is deleted")

	assert.Equal(t, host.StatusActive, beta.State)
	assert.Equal(t, "2.0.0", beta.Version, "the project directory overrides the user directory")
	assert.Equal(t, betaDir, beta.Dir)
	assert.Equal(t, filepath.Join(betaDir, "clawd-plugin.json"), beta.Manifest)
	assert.Contains(t, beta.Warnings, "overrides the plugin of the same name in "+filepath.Join(user, "beta"))

	assert.Equal(t, host.StatusFailed, brk.State)
	assert.Equal(t, clawerr.ManifestInvalid, clawerr.CodeOf(brk.Reason))
	assert.Contains(t, brk.Reason.Error(), "plugin.toml:4")
	assert.Contains(t, brk.Reason.Error(), "capabilites")
	assert.Equal(t, broken, brk.Dir)

	// Every transition, in order.
	var got []string
	for range 9 {
		got = append(got, show(r.next(t)))
	}
	assert.Equal(t, []string{
		"alpha none->resolved 1.0.0", "alpha resolved->loaded 1.0.0", "alpha loaded->active 1.0.0",
		"badabi none->resolved 1.0.0", "badabi resolved->failed 1.0.0 abi_mismatch",
		"beta none->resolved 2.0.0", "beta resolved->loaded 2.0.0", "beta loaded->active 2.0.0",
		"broken none->failed  manifest_invalid",
	}, got)

	// Only the active plugins take events; the user's beta was never opened.
	outs := r.h.Call(bg, clawd.ToolCall("s1", "grep", "{}"))
	require.Equal(t, []string{"alpha", "beta"}, outcomeNames(outs))
	assert.Equal(t, "2.0.0", outs[1].Version)
	assert.NoError(t, host.Errors(outs))
	var loads []string
	for _, e := range r.takeEvents() {
		if e.Method == "echo.on_load" {
			loads = append(loads, e.Plugin+" "+decode(t, e).Version)
		}
	}
	assert.Equal(t, []string{"alpha 1.0.0", "beta 2.0.0"}, loads)

	// Load again: nothing that runs is touched; the failures are tried again.
	err = r.h.Load(bg)
	assert.ErrorIs(t, err, clawerr.ABIMismatch)
	assert.Equal(t, []string{"badabi failed->resolved 1.0.0", "badabi resolved->failed 1.0.0 abi_mismatch", "broken failed->failed  manifest_invalid"},
		[]string{show(r.next(t)), show(r.next(t)), show(r.next(t))})
}

// A capability the host's policy refuses is not granted: the plugin loads,
// and its send_event returns CapabilityDenied (echo logs "send_event:3").
func TestCapabilityRefusedByPolicy(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "granted", "1.0.0", echo(t, "granted", "1.0.0"), "network.relay", "fs.read")
	plugin(t, root, "denied", "1.0.0", echo(t, "denied", "1.0.0"), "network.relay", "fs.read")
	plugin(t, root, "unasked", "1.0.0", echo(t, "unasked", "1.0.0"))
	var asked []string
	policy := func(p string, c abi.Capability) bool {
		asked = append(asked, p+":"+string(c))
		return !(p == "denied" && c == abi.CapNetworkRelay)
	}
	r := newRig(t, host.WithPluginDirs(root), host.WithCapabilityPolicy(policy))
	require.NoError(t, r.h.Load(bg))
	assert.Equal(t, []string{"denied:network.relay", "denied:fs.read", "granted:network.relay", "granted:fs.read"}, asked)

	outs := r.h.Call(bg, clawd.ToolCall("s1", "grep", "{}"))
	require.Equal(t, []string{"denied", "granted", "unasked"}, outcomeNames(outs))
	require.NoError(t, host.Errors(outs), "a refused event does not fail the callback")

	denied, granted, unasked := info(t, r.h, "denied"), info(t, r.h, "granted"), info(t, r.h, "unasked")
	assert.Equal(t, []abi.Capability{abi.CapFSRead}, denied.Granted)
	assert.Equal(t, []abi.Capability{abi.CapNetworkRelay}, denied.Refused)
	assert.Equal(t, []abi.Capability{abi.CapNetworkRelay, abi.CapFSRead}, granted.Granted)
	assert.Empty(t, granted.Refused)
	assert.Empty(t, unasked.Granted)

	assert.Equal(t, []string{"on_load", "loads:1", "send_event:3", "on_tool_call", "session:s1", "tool:grep", "input:{}", "send_event:3"}, r.lines("denied"))
	assert.Equal(t, []string{"send_event:3", "send_event:3"}, filter(r.lines("unasked"), "send_event:"))
	assert.Equal(t, []string{"send_event:0", "send_event:0"}, filter(r.lines("granted"), "send_event:"))
	assert.Equal(t, clawd.Stats{EventsRefused: 2}, denied.Stats.Context)
	assert.Equal(t, clawd.Stats{EventsSent: 2}, granted.Stats.Context)

	var from []string
	for _, e := range r.takeEvents() {
		from = append(from, e.Plugin+" "+e.Method)
	}
	assert.Equal(t, []string{"granted echo.on_load", "granted echo.on_tool_call"}, from)
	assert.Equal(t, 1, r.logs.FilterMessage("capability refused by the host's policy").FilterField(zap.String("capability", "network.relay")).Len())
}

func filter(lines []string, prefix string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// Every dispatch reaches every active plugin that has the callback, in name
// order, each with its own outcome; a failing plugin fails only its own.
func TestDispatchOutcomes(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"), "network.relay")
	plugin(t, root, "beta", "2.5.0", echo(t, "beta", "2.5.0"), "network.relay")
	plugin(t, root, "min", "0.1.0", cbuild.Plugin(t, "minimal"))       // no callbacks at all
	plugin(t, root, "nn", "not-semver", cbuild.Plugin(t, "null_name")) // on_tool_call only, always 0
	r := newRig(t, host.WithPluginDirs(root))
	require.NoError(t, r.h.Load(bg))
	r.takeEvents()

	versions := func(outs []host.Outcome) []string {
		var v []string
		for _, o := range outs {
			v = append(v, o.Plugin+"@"+o.Version)
			assert.Positive(t, o.Duration)
		}
		return v
	}
	outs := r.h.Call(bg, clawd.SessionStart("s1"))
	assert.Equal(t, []string{"alpha@1.0.0", "beta@2.5.0"}, versions(outs))
	assert.NoError(t, host.Errors(outs))

	outs = r.h.Call(bg, clawd.ToolCall("s1", "fail", "{}"))
	assert.Equal(t, []string{"alpha@1.0.0", "beta@2.5.0", "nn@not-semver"}, versions(outs))
	for _, o := range outs[:2] {
		assert.Equal(t, clawerr.CallbackError, clawerr.CodeOf(o.Err))
		assert.ErrorIs(t, o.Err, abi.CallbackError)
	}
	assert.NoError(t, outs[2].Err)
	assert.ErrorIs(t, host.Errors(outs), clawerr.CallbackError)

	outs = r.h.Call(bg, clawd.ToolCall("s1", "code:42", "{}"))
	assert.Equal(t, clawerr.UnknownCode, clawerr.CodeOf(outs[0].Err))
	outs = r.h.Call(bg, clawd.ToolCall("s1", "notfound", "{}"))
	assert.ErrorIs(t, outs[0].Err, abi.NotFound)
	outs = r.h.Call(bg, clawd.ToolCall("s1\x00", "t", "{}"))
	assert.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(outs[0].Err))

	outs = r.h.Call(bg, clawd.Message("s1", "user", `{"text":"hi"}`))
	assert.Equal(t, []string{"alpha@1.0.0", "beta@2.5.0"}, versions(outs))
	outs = r.h.Call(bg, clawd.SessionEnd("s1"))
	assert.Equal(t, []string{"alpha@1.0.0", "beta@2.5.0"}, versions(outs))
	assert.NoError(t, host.Errors(outs))

	var seen []string
	for _, e := range r.takeEvents() {
		if e.Plugin == "alpha" {
			seen = append(seen, e.Method+" "+e.Version)
		}
	}
	assert.Equal(t, []string{"echo.on_session_start 1.0.0", "echo.on_tool_call 1.0.0", "echo.on_tool_call 1.0.0",
		"echo.on_tool_call 1.0.0", "echo.on_message 1.0.0", "echo.on_session_end 1.0.0"}, seen,
		"the call with a NUL never entered the plugin")

	// Per-plugin order is the order of dispatch.
	for i := range 50 {
		require.NoError(t, host.Errors(r.h.Call(bg, clawd.ToolCall("seq-"+strconv.Itoa(i), "t", "{}"))))
	}
	evs := r.takeEvents()
	for _, p := range []string{"alpha", "beta"} {
		var sessions []string
		for _, e := range evs {
			if e.Plugin == p {
				sessions = append(sessions, decode(t, e).Session)
			}
		}
		require.Len(t, sessions, 50)
		for i, s := range sessions {
			assert.Equal(t, "seq-"+strconv.Itoa(i), s)
		}
	}

	alpha, nn, min := info(t, r.h, "alpha"), info(t, r.h, "nn"), info(t, r.h, "min")
	assert.Equal(t, uint64(57), alpha.Stats.Calls) // 1 + 4 tools (one with a NUL) + 1 + 1 + 50
	assert.Equal(t, map[clawerr.Code]uint64{clawerr.CallbackError: 2, clawerr.UnknownCode: 1, clawerr.InvalidArgument: 1}, alpha.Stats.Errors)
	var inBuckets uint64
	for _, n := range alpha.Stats.Latency.Buckets {
		inBuckets += n
	}
	assert.Equal(t, alpha.Stats.Calls, inBuckets)
	assert.Positive(t, alpha.Stats.Latency.Max)
	assert.GreaterOrEqual(t, alpha.Stats.Latency.Total, alpha.Stats.Latency.Max)
	assert.Equal(t, clawd.Stats{EventsSent: 1 + 56}, alpha.Stats.Context) // on_load and each call that entered
	assert.Equal(t, uint64(54), nn.Stats.Calls)
	assert.Equal(t, map[clawerr.Code]uint64{clawerr.InvalidArgument: 1}, nn.Stats.Errors)
	assert.Zero(t, min.Stats.Calls)
	assert.Contains(t, strings.Join(nn.Warnings, "\n"), "the manifest's name")

	// Different plugins run in parallel once they are slow: after two 60 ms
	// calls each (run in a row), the next dispatch calls alpha and beta at
	// once. Each waits in the sink, inside its on_tool_call, until the
	// other is inside too: calls made one after the other would never meet,
	// and the test binary's -timeout would fail the test.
	require.NoError(t, host.Errors(r.h.Call(bg, clawd.ToolCall("s2", "sleep:60", "{}"))))
	require.NoError(t, host.Errors(r.h.Call(bg, clawd.ToolCall("s2", "sleep:60", "{}"))))
	var inside sync.WaitGroup
	inside.Add(2)
	r.onEvent = func(e clawd.Event) error {
		if e.Method == "echo.on_tool_call" && decode(t, e).Session == "s3" {
			inside.Done()
			inside.Wait()
		}
		return nil
	}
	outs = r.h.Call(bg, clawd.ToolCall("s3", "sleep:300", "{}"))
	require.NoError(t, host.Errors(outs))
	for _, o := range outs[:2] {
		assert.GreaterOrEqual(t, o.Duration, 300*time.Millisecond)
	}
}

// A sink that dispatches from inside a plugin's send_event re-enters that
// plugin on the same thread instead of deadlocking.
func TestNestedDispatchFromSink(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"), "network.relay")
	plugin(t, root, "beta", "1.0.0", echo(t, "beta", "1.0.0"), "network.relay")
	r := newRig(t, host.WithPluginDirs(root))
	var nested [][]host.Outcome
	r.onEvent = func(e clawd.Event) error {
		if e.Plugin == "alpha" && e.Method == "echo.reenter" {
			nested = append(nested, r.h.Call(bg, clawd.SessionStart("nested")))
		}
		return nil
	}
	require.NoError(t, r.h.Load(bg))
	// A deadlock would keep ToolCall from returning: the test binary's
	// -timeout fails the test then.
	require.NoError(t, host.Errors(r.h.Call(bg, clawd.ToolCall("s1", "reenter", "{}"))))
	require.Len(t, nested, 1)
	assert.Equal(t, []string{"alpha", "beta"}, outcomeNames(nested[0]))
	assert.NoError(t, host.Errors(nested[0]))
	assert.Contains(t, r.lines("alpha"), "reenter_send_event:0")
}

// A plugin directory written for the reference daemon: clawd-plugin.json,
// runtime dylib, no capabilities, empty signature. It loads under the
// default policy (warn), without network.relay.
func TestReferenceDaemonManifestLoads(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "hello")
	require.NoError(t, os.Mkdir(dir, 0o755))
	copyFile(t, echo(t, "hello", "1.0.0"), filepath.Join(dir, libName("hello")))
	writeFile(t, filepath.Join(dir, "clawd-plugin.json"), []byte(`{
  "name": "hello",
  "version": "1.0.0",
  "description": "written for the reference daemon",
  "author": "someone",
  "runtime": "dylib",
  "entry": "`+libName("hello")+`",
  "capabilities": [],
  "signature": ""
}`))
	r := newRig(t, host.WithPluginDirs(root))
	require.NoError(t, r.h.Load(bg))
	p := info(t, r.h, "hello")
	assert.Equal(t, host.StatusActive, p.State)
	assert.Equal(t, "1.0.0", p.Version)
	assert.False(t, p.Signed)
	assert.Equal(t, []string{"unsigned (policy warn)"}, p.Warnings)
	assert.Empty(t, p.Granted)
	require.NoError(t, host.Errors(r.h.Call(bg, clawd.ToolCall("s1", "t", "{}"))))
	assert.Equal(t, []string{"send_event:3", "send_event:3"}, filter(r.lines("hello"), "send_event:"))

	// The same directory under policy require is refused as unsigned.
	r2 := newRig(t, host.WithPluginDirs(root), host.WithTrust(manifest.Trust{Policy: manifest.PolicyRequire}))
	err := r2.h.Load(bg)
	assert.ErrorIs(t, err, clawerr.Unsigned)
	assert.Equal(t, clawerr.Unsigned, clawerr.CodeOf(info(t, r2.h, "hello").Reason))
}

// Close stops every plugin once (on_unload each), closes subscriptions and
// removes the cache directory it made.
func TestCloseStopsEverything(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"), "network.relay")
	plugin(t, root, "beta", "1.0.0", echo(t, "beta", "1.0.0"), "network.relay")
	r := newRig(t, host.WithPluginDirs(root), host.WithWatch(true))
	require.NoError(t, r.h.Load(bg))
	for range 6 {
		r.next(t)
	}
	cache := host.CacheDirOf(r.h)
	require.NoError(t, r.h.Close())
	require.NoError(t, r.h.Close(), "Close twice is fine")
	assert.Equal(t, []string{"alpha active->stopped 1.0.0", "beta active->stopped 1.0.0"}, []string{show(r.next(t)), show(r.next(t))})
	_, ok := <-r.tr
	assert.False(t, ok, "Close closes the subscriptions")
	var unloads []string
	for _, e := range r.takeEvents() {
		if e.Method == "echo.on_unload" {
			unloads = append(unloads, e.Plugin)
		}
	}
	assert.Equal(t, []string{"alpha", "beta"}, unloads)
	_, err := os.Stat(cache)
	assert.True(t, errors.Is(err, os.ErrNotExist), "cache dir removed: %v", err)
	assert.Nil(t, r.h.Call(bg, clawd.ToolCall("s", "t", "{}")))
	assert.ErrorIs(t, r.h.Load(bg), clawerr.Closed)
	assert.Equal(t, host.StatusStopped, info(t, r.h, "alpha").State)
	tr, cancel := r.h.Subscribe()
	defer cancel()
	_, ok = <-tr
	assert.False(t, ok)
}

// Within one directory, the subdirectory that sorts first wins a name.
func TestSameNameInOneDirectory(t *testing.T) {
	root := t.TempDir()
	for _, d := range []struct{ dir, version string }{{"a", "1.0.0"}, {"b", "2.0.0"}} {
		dir := filepath.Join(root, d.dir)
		require.NoError(t, os.Mkdir(dir, 0o755))
		copyFile(t, echo(t, "dup", d.version), filepath.Join(dir, libName("dup")))
		writeTOML(t, dir, "dup", d.version)
	}
	r := newRig(t, host.WithPluginDirs(root))
	require.NoError(t, r.h.Load(bg))
	p := info(t, r.h, "dup")
	assert.Equal(t, filepath.Join(root, "a"), p.Dir)
	assert.Equal(t, "1.0.0", p.Version)
	assert.Contains(t, p.Warnings, "shadows the plugin of the same name in "+filepath.Join(root, "b"))
	assert.Len(t, r.h.Plugins(), 1)
}

// A context kept past its callback is stale; its uses are counted.
func TestStaleContextCounted(t *testing.T) {
	root := t.TempDir()
	plugin(t, root, "echo", "1.0.0", echo(t, "echo", "1.0.0"), "network.relay")
	r := newRig(t, host.WithPluginDirs(root))
	require.NoError(t, r.h.Load(bg))
	require.NoError(t, host.Errors(r.h.Call(bg, clawd.ToolCall("s", "keep", "{}"))))
	require.NoError(t, host.Errors(r.h.Call(bg, clawd.ToolCall("s", "use_kept", "{}"))))
	assert.Contains(t, r.lines("echo"), "stale_send_event:5")
	s := info(t, r.h, "echo").Stats
	assert.Equal(t, uint64(2), s.Context.StaleLogs+s.Context.StaleEvents)
	assert.Equal(t, uint64(1), s.Context.StaleLogs)
	assert.Equal(t, uint64(1), s.Context.StaleEvents)
}
