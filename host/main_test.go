package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
)

func TestMain(m *testing.M) {
	isolate.Main() // the sandbox tests run their children from this binary
	// Under -race a child sleeps a second at exit before reporting; the
	// sandbox tests start and stop dozens of children.
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

var bg = context.Background()

// rig is a host with an observed logger, a recording sink and a subscriber
// that saw everything from before the first load.
type rig struct {
	h    *host.Host
	logs *observer.ObservedLogs
	tr   <-chan host.Transition

	mu      sync.Mutex
	events  []clawd.Event
	onEvent func(clawd.Event) error // optional: runs in the sink, its answer is returned
}

func newRig(t *testing.T, opts ...host.Option) *rig {
	t.Helper()
	r := &rig{}
	core, logs := observer.New(zapcore.DebugLevel)
	r.logs = logs
	sink := clawd.SinkFunc(func(_ context.Context, e clawd.Event) error {
		r.mu.Lock()
		r.events = append(r.events, e)
		f := r.onEvent
		r.mu.Unlock()
		if f != nil {
			return f(e)
		}
		return nil
	})
	base := []host.Option{host.WithPluginOptions(clawd.WithLogger(zap.New(core)), clawd.WithEventSink(sink))}
	h, err := host.New(append(base, opts...)...)
	require.NoError(t, err)
	r.h = h
	tr, cancel := h.Subscribe()
	r.tr = tr
	t.Cleanup(func() {
		require.NoError(t, h.Close())
		cancel()
	})
	return r
}

// next waits for the next transition, with no deadline of its own: one
// that never comes fails the test at the test binary's -timeout.
func (r *rig) next(t *testing.T) host.Transition {
	t.Helper()
	tr, ok := <-r.tr
	require.True(t, ok, "the subscription was closed")
	return tr
}

// nextOf waits for the next transition of plugin, skipping others.
func (r *rig) nextOf(t *testing.T, plugin string) host.Transition {
	t.Helper()
	for {
		if tr := r.next(t); tr.Plugin == plugin {
			return tr
		}
	}
}

// settled asserts that no transition is pending from earlier file
// changes, without waiting a while to see none come: it rewrites the
// entry of marker (a plugin directory of the rig's, watched) twice, one
// reload each, and asserts the next two transitions are exactly those.
// The watcher handles events in order, one sync at a time, so a pending
// transition is published before the first marker's reload or, if it is
// folded into the same sync, before the second's.
func (r *rig) settled(t *testing.T, marker string) {
	t.Helper()
	name := filepath.Base(marker)
	entry := filepath.Join(marker, libName(name))
	for range 2 {
		replace(t, entry, read(t, entry))
		tr := r.next(t)
		require.Equal(t, name, tr.Plugin, "unexpected transition %s", show(tr))
		require.True(t, tr.Reload, "unexpected transition %s", show(tr))
		require.NoError(t, tr.Reason)
	}
}

// progress counts what goroutines have done; past waits for more without
// polling: each add wakes it.
type progress struct {
	mu   sync.Mutex
	cond sync.Cond
	n    int64
}

func newProgress() *progress {
	p := &progress{}
	p.cond.L = &p.mu
	return p
}

func (p *progress) add() {
	p.mu.Lock()
	p.n++
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *progress) load() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// past waits until n more are done than when it was called; if they never
// are, the test binary's -timeout ends the test.
func (p *progress) past(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for target := p.n + n; p.n < target; {
		p.cond.Wait()
	}
}

// show prints a transition compactly: "alpha none->resolved 1.0.0".
func show(tr host.Transition) string {
	s := fmt.Sprintf("%s %s->%s %s", tr.Plugin, tr.From, tr.To, tr.Version)
	if tr.Reload {
		s += " reload"
	}
	if tr.Reason != nil {
		s += " " + string(clawerr.CodeOf(tr.Reason))
	}
	return s
}

func (r *rig) takeEvents() []clawd.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

// lines returns what plugin logged (the loader's lines: the host's own
// logger is named "host"), in order.
func (r *rig) lines(plugin string) []string {
	var out []string
	for _, e := range r.logs.All() {
		if e.LoggerName == "" && e.ContextMap()["plugin"] == plugin {
			out = append(out, e.Message)
		}
	}
	return out
}

func count(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if l == s {
			n++
		}
	}
	return n
}

func info(t *testing.T, h *host.Host, name string) host.PluginInfo {
	t.Helper()
	p, ok := h.Plugin(name)
	require.True(t, ok, "no plugin %q in the registry", name)
	return p
}

func names(ps []host.PluginInfo) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func outcomeNames(outs []host.Outcome) []string {
	var out []string
	for _, o := range outs {
		out = append(out, o.Plugin)
	}
	return out
}

// echo builds testplugins/echo.c named name at version.
func echo(t *testing.T, name, version string) string {
	t.Helper()
	return cbuild.Plugin(t, "echo", `-DECHO_NAME="`+name+`"`, `-DECHO_VERSION="`+version+`"`)
}

func libName(name string) string { return "lib" + name + cbuild.LibExt }

// plugin writes a plugin directory dir/name: the library lib copied as the
// entry, and a plugin.toml.
func plugin(t testing.TB, root, name, version, lib string, caps ...string) string {
	t.Helper()
	dir := filepath.Join(root, name)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	copyFile(t, lib, filepath.Join(dir, libName(name)))
	writeTOML(t, dir, name, version, caps...)
	return dir
}

func writeTOML(t testing.TB, dir, name, version string, caps ...string) {
	t.Helper()
	quoted := make([]string, len(caps))
	for i, c := range caps {
		quoted[i] = `"` + c + `"`
	}
	toml := fmt.Sprintf("name = %q\nversion = %q\nentry = %q\ncapabilities = [%s]\n",
		name, version, libName(name), strings.Join(quoted, ", "))
	writeFile(t, filepath.Join(dir, "plugin.toml"), []byte(toml))
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	writeFile(t, dst, data)
}

// replace puts new bytes at dst the way a build or a deploy should: write a
// temporary file beside it, then rename it over dst (never write in place).
func replace(t *testing.T, dst string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp")
	writeFile(t, tmp, data)
	require.NoError(t, os.Rename(tmp, dst))
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}

// copies lists the verified copies left in the cache for plugin.
func copies(t *testing.T, h *host.Host, plugin string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(host.CacheDirOf(h), plugin))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		out = append(out, filepath.Join(host.CacheDirOf(h), plugin, e.Name()))
	}
	return out
}

// mappedCopies lists the files under dir that this process has mapped
// (Linux: /proc/self/maps), without duplicates, sorted.
func mappedCopies(t *testing.T, dir string) []string {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, line := range strings.Split(string(maps), "\n") {
		i := strings.Index(line, dir+string(filepath.Separator))
		if i < 0 {
			continue
		}
		seen[strings.TrimSuffix(line[i:], " (deleted)")] = true
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// params decodes an echo event's params.
type echoParams struct {
	CB      string `json:"cb"`
	Session string `json:"session"`
	Tool    string `json:"tool"`
	Version string `json:"version"`
}

func decode(t testing.TB, e clawd.Event) echoParams {
	var p echoParams
	if err := json.Unmarshal(e.Params, &p); err != nil {
		t.Errorf("params of %s: %v", e.Method, err)
	}
	return p
}
