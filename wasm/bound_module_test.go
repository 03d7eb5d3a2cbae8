package wasm_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/wasmscan/wasmgen"
	"github.com/clawd-go/clawd/wasm"
)

func writeModule(t testing.TB, name string, bin []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".wasm")
	require.NoError(t, os.WriteFile(p, bin, 0o644))
	return p
}

func repeatBody(body []byte, n int) [][]byte {
	bs := make([][]byte, n)
	for i := range bs {
		bs[i] = body
	}
	return bs
}

// The modules that compiled for longer than the load timeout, or took
// hundreds of MiB to compile, are refused by the pre-scan before any
// compile, naming the limit.
func TestCostlyModulesRefusedBeforeCompile(t *testing.T) {
	loops := func(n int) []byte {
		var b []byte
		for i := 0; i < n; i++ {
			b = append(b, 0x03, 0x40, 0x0b)
		}
		return append(b, 0x0b)
	}
	for _, tc := range []struct {
		name, limit string
		bin         []byte
	}{
		{"300,000-deep nesting", "Limits.Nesting", wasmgen.Module{Bodies: [][]byte{wasmgen.Nested(300_000)}}.Bytes()},
		{"a million functions (30 MB)", "Limits.Functions", wasmgen.Module{Bodies: repeatBody(wasmgen.Straight(28), 1_000_000)}.Bytes()},
		{"16,000 loops in a body", "Limits.Branches", wasmgen.Module{Bodies: [][]byte{loops(16_000)}}.Bytes()},
		{"20 bodies of 1 MiB", "Limits.CodeSize", wasmgen.Module{Bodies: repeatBody(wasmgen.Straight(1<<20-16), 20)}.Bytes()},
		{"50,001 locals", "Limits.Locals", wasmgen.Module{Bodies: [][]byte{wasmgen.Empty}, Locals: 50_001}.Bytes()},
	} {
		path := writeModule(t, "hostile", tc.bin)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err := tryOpen(path, wasm.WithCacheDir(""))
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		codeIs(t, err, clawerr.OpenFailed, "pre-scan", tc.limit, "build the plugin smaller")
		t.Logf("%-28s %9d bytes: refused in %v, %d MiB allocated", tc.name, len(tc.bin), took, (after.TotalAlloc-before.TotalAlloc)>>20)
	}
}

// A compile past the load timeout is abandoned: Open returns timeout at
// its deadline. An abandoned compile keeps its slot until it ends, so
// they cannot pile up: with every slot held, Open waits for one until its
// load timeout; once the compiles end, the slots serve again.
func TestCompileBoundedByLoadTimeout(t *testing.T) {
	mod := cbuildWasm(t, "wasm_guest")
	wasm.WaitCompiles()
	release := make(chan struct{})
	restore := wasm.HoldCompiles(release)
	n := wasm.CompileSlots()
	for i := 0; i < n; i++ {
		_, err := tryOpen(mod, wasm.WithCacheDir(""), wasm.WithLoadTimeout(20*time.Millisecond))
		codeIs(t, err, clawerr.Timeout, "compiling the module took longer than the load timeout")
	}
	_, err := tryOpen(mod, wasm.WithCacheDir(""), wasm.WithLoadTimeout(20*time.Millisecond))
	codeIs(t, err, clawerr.Timeout, "no compile could start before the load timeout")
	close(release)
	restore()
	// The held compiles end now; an Open waits for a slot (its load
	// timeout is long) and succeeds.
	g := open(t, mod, wasm.WithCacheDir(""), wasm.WithLoadTimeout(time.Minute))
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "count", "{}")))
}

// Opens in parallel, each past its load timeout, never run more compiles
// than the slots: all return timeout, none waits past its deadline for
// another's compile.
func TestParallelAbandonedCompiles(t *testing.T) {
	mod := cbuildWasm(t, "wasm_guest")
	wasm.WaitCompiles()
	release := make(chan struct{})
	restore := wasm.HoldCompiles(release)
	var wg sync.WaitGroup
	errs := make([]error, 3*wasm.CompileSlots())
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = tryOpen(mod, wasm.WithCacheDir(""), wasm.WithLoadTimeout(20*time.Millisecond))
		}()
	}
	wg.Wait()
	close(release)
	restore()
	abandoned, waited := 0, 0
	for _, err := range errs {
		codeIs(t, err, clawerr.Timeout)
		var ce *clawerr.Error
		require.ErrorAs(t, err, &ce)
		if strings.Contains(ce.Detail, "compiling the module took longer than the load timeout") {
			abandoned++
		} else {
			require.Contains(t, ce.Detail, "no compile could start before the load timeout")
			waited++
		}
	}
	assert.LessOrEqual(t, abandoned, wasm.CompileSlots())
	assert.Positive(t, waited)
	assert.Equal(t, len(errs), abandoned+waited)
}

// Modules of a few bytes whose counts run past their end made wazero's
// decoder allocate 6 to 18 GiB before it refused them: the pre-scan
// refuses them first, and Open allocates next to nothing.
func TestCountsPastTheEndAllocateNothing(t *testing.T) {
	for name, bin := range map[string][]byte{
		"2^28 element segments": []byte("\x00asm\x01\x00\x00\x00\x09\x05\x80\x80\x80\x80\x01"),
		"2^28 function names":   []byte("\x00asm\x01\x00\x00\x00\x00\x0c\x04name\x01\x05\x80\x80\x80\x80\x01"),
		"2^31 functions":        []byte("\x00asm\x01\x00\x00\x00\x03\x02\xff\xff\xff\xff\x07"),
	} {
		path := writeModule(t, "tiny", bin)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := tryOpen(path, wasm.WithCacheDir(""))
		runtime.ReadMemStats(&after)
		codeIs(t, err, clawerr.OpenFailed, "not a valid WebAssembly module", "malformed module")
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), name)
	}
}

// The deadline's checks add branches: a body under the pre-scan's branch
// limit as written can be over it instrumented, and is refused before the
// instrumented module compiles; with deadlines off it is not instrumented
// and passes the pre-scan (it fails later: it is no plugin).
func TestInstrumentedModuleRescanned(t *testing.T) {
	var body []byte
	for range 4000 { // 4,000 loops: half the branch limit as written
		body = append(body, 0x03, 0x40, 0x0b)
	}
	path := writeModule(t, "loops", wasmgen.Module{Bodies: [][]byte{append(body, 0x0b)}}.Bytes())
	_, err := tryOpen(path, wasm.WithCacheDir(""))
	codeIs(t, err, clawerr.OpenFailed, "instrumented for deadlines is over the pre-scan's limits", "Limits.Branches")
	_, err = tryOpen(path, wasm.WithCacheDir(""), wasm.WithDeadlines(false))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "pre-scan")
}
