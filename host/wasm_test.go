package host_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
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
	"github.com/clawd-go/clawd/manifest"
)

// wasmEcho builds testplugins/echo.c as a .wasm named name at version.
func wasmEcho(t *testing.T, name, version string) string {
	t.Helper()
	return cbuild.WasmPlugin(t, "echo", `-DECHO_NAME="`+name+`"`, `-DECHO_VERSION="`+version+`"`)
}

// wasmPlugin writes root/name with mod as name.wasm and a plugin.toml
// saying runtime = "wasm"; extra lines go at its end.
func wasmPlugin(t *testing.T, root, name, version, mod, extra string) string {
	t.Helper()
	dir := filepath.Join(root, name)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	copyFile(t, mod, filepath.Join(dir, name+".wasm"))
	writeFile(t, filepath.Join(dir, "plugin.toml"), []byte(fmt.Sprintf(
		"name = %q\nversion = %q\nruntime = \"wasm\"\nentry = %q\ncapabilities = [\"network.relay\"]\nmemory_limit_mb = 32\n%s",
		name, version, name+".wasm", extra)))
	return dir
}

// A wasm plugin directory loads through the host (sandbox reported as
// wasm), its sha256 pin is checked over the .wasm bytes, and a hot reload
// of the .wasm under load fails no dispatch, the native bystander's
// included.
func TestWasmPluginHotReload(t *testing.T) {
	root := t.TempDir()
	v1, v2 := wasmEcho(t, "wecho", "1.0.0"), wasmEcho(t, "wecho", "2.0.0")
	builds := map[string][]byte{"1.0.0": read(t, v1), "2.0.0": read(t, v2)}
	dir := wasmPlugin(t, root, "wecho", "1.0.0", v1, "")
	entry := filepath.Join(dir, "wecho.wasm")
	plugin(t, root, "alpha", "1.0.0", echo(t, "alpha", "1.0.0"), "network.relay")

	r := newRig(t, host.WithPluginDirs(root), host.WithWatch(true), host.WithDebounce(10*time.Millisecond))
	require.NoError(t, r.h.Load(bg))
	for range 6 { // none->resolved->loading->active, per plugin
		r.next(t)
	}
	p := info(t, r.h, "wecho")
	assert.Equal(t, manifest.SandboxWasm, p.Sandbox)
	assert.Equal(t, host.StatusActive, p.State)
	assert.Equal(t, ".wasm", filepath.Ext(p.Library))

	var stop atomic.Bool
	var failures atomic.Int64
	dispatches := newProgress()
	var wg sync.WaitGroup
	defer func() { stop.Store(true); wg.Wait() }()
	for g := range 2 {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				outs := r.h.Call(bg, clawd.ToolCall(fmt.Sprintf("g%d-%d", g, n), "t", "{}"))
				if len(outs) != 2 || host.Errors(outs) != nil {
					if failures.Add(1) <= 5 {
						t.Errorf("dispatch: %v", outs)
					}
				}
				dispatches.add()
			}
		})
	}
	progress := func() { dispatches.past(20) }
	for i := range 6 {
		progress()
		want := []string{"2.0.0", "1.0.0"}[i%2]
		replace(t, entry, builds[want])
		tr := r.nextOf(t, "wecho")
		require.NoError(t, tr.Reason)
		require.Equal(t, want, info(t, r.h, "wecho").Version)
	}
	progress()
	stop.Store(true)
	wg.Wait()
	assert.Zero(t, failures.Load())
	assert.Equal(t, uint64(6), info(t, r.h, "wecho").Stats.Reloads)
}

// Trust covers the .wasm bytes: a sha256 pin that does not match refuses
// the plugin with checksum_mismatch; the matching pin loads it.
func TestWasmPluginChecksum(t *testing.T) {
	mod := wasmEcho(t, "pinned", "1.0.0")
	sum := sha256.Sum256(read(t, mod))
	for _, tc := range []struct {
		pin  string
		code clawerr.Code
	}{
		{hex.EncodeToString(sum[:]), ""},
		{hex.EncodeToString(make([]byte, 32)), clawerr.ChecksumMismatch},
	} {
		root := t.TempDir()
		wasmPlugin(t, root, "pinned", "1.0.0", mod, fmt.Sprintf("sha256 = %q\n", tc.pin))
		r := newRig(t, host.WithPluginDirs(root))
		err := r.h.Load(bg)
		if tc.code == "" {
			require.NoError(t, err)
			assert.Equal(t, host.StatusActive, info(t, r.h, "pinned").State)
			continue
		}
		assert.Equal(t, tc.code, clawerr.CodeOf(info(t, r.h, "pinned").Reason), "%v", info(t, r.h, "pinned").Reason)
	}
}

// concurrent = true in a wasm plugin's manifest gives it a pool of
// instances through the host: two dispatches run inside it at once (each
// waits in the sink until the other is there too: signalled, not slept).
func TestWasmPluginConcurrentPool(t *testing.T) {
	root := t.TempDir()
	wasmPlugin(t, root, "pooled", "1.0.0", wasmEcho(t, "pooled", "1.0.0"), "concurrent = true\n")
	r := newRig(t, host.WithPluginDirs(root))
	var inside atomic.Int32
	both := make(chan struct{})
	var once sync.Once
	r.onEvent = func(e clawd.Event) error {
		if e.Method != "echo.on_tool_call" {
			return nil
		}
		if inside.Add(1) == 2 {
			once.Do(func() { close(both) })
		}
		// Calls that never run at once never meet here: the test
		// binary's -timeout fails the test.
		<-both
		return nil
	}
	require.NoError(t, r.h.Load(bg))
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			outs := r.h.Call(bg, clawd.ToolCall(fmt.Sprintf("s%d", g), "t", "{}"))
			assert.NoError(t, host.Errors(outs))
		})
	}
	wg.Wait()
}
