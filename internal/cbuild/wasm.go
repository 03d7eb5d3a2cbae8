// Builders of WebAssembly modules with zig cc, for the tests of the wasm
// runtime and of the wasm32 layout. They share the other builds' rules:
// built once into the shared cache per Zig, source, include/ and flags,
// and a missing Zig skips unless RequireAllToolchains.

package cbuild

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// WasmStackSize is the stack the builders give a module: zig's default
// (1 MiB) makes the initial memory 257 pages, 64 KiB makes it 2.
const WasmStackSize = 65536

// WasmPlugin builds testplugins/<name>.c with include/clawd_plugin_wasm.c
// as a wasm32-wasi reactor module, the way the guide tells a plugin author
// to, and returns the path of <name>.wasm. extraFlags select a variant.
func WasmPlugin(tb testing.TB, name string, extraFlags ...string) string {
	tb.Helper()
	return WasmModule(tb, filepath.Join("testplugins", name+".c"), extraFlags...)
}

// WasmModule builds the C source src (relative to the repository root
// unless absolute) with include/clawd_plugin_wasm.c as a reactor module and
// returns its path.
func WasmModule(tb testing.TB, src string, extraFlags ...string) string {
	tb.Helper()
	zig := RequireZig(tb)
	root := repoRoot(tb)
	src = abs(tb, src)
	inc := filepath.Join(root, "include")
	return zigCached(tb, zig, root, src, "wasm-plugin", extraFlags, func(dir string) (string, error) {
		out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".c")+".wasm")
		args := append(append([]string{}, zig...), "cc", "-target", "wasm32-wasi", "-mexec-model=reactor",
			"-std=c99", "-O2", "-Wl,--strip-debug", "-Wall", "-Werror", "-I"+inc)
		args = append(args, src, filepath.Join(inc, "clawd_plugin_wasm.c"), "-Wl,-z,stack-size="+strconv.Itoa(WasmStackSize))
		args = append(args, extraFlags...) // last: a variant may set the stack size again
		args = append(args, "-o", out)
		_, err := Run(dir, []string{"ZIG_LOCAL_CACHE_DIR=" + filepath.Join(dir, "zig-cache")}, args...)
		return out, err
	})
}

// WasmProgram builds the C source src as a wasm32-wasi command module (a
// main, run by _start) and returns its path: the layout printer.
func WasmProgram(tb testing.TB, src string, extraFlags ...string) string {
	tb.Helper()
	zig := RequireZig(tb)
	root := repoRoot(tb)
	src = abs(tb, src)
	return zigCached(tb, zig, root, src, "wasm-program", extraFlags, func(dir string) (string, error) {
		out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".c")+".wasm")
		args := append(append([]string{}, zig...), "cc", "-target", "wasm32-wasi", "-O2", "-s",
			"-I"+filepath.Join(root, "include"))
		args = append(args, extraFlags...)
		args = append(args, src, "-o", out)
		_, err := Run(dir, []string{"ZIG_LOCAL_CACHE_DIR=" + filepath.Join(dir, "zig-cache")}, args...)
		return out, err
	})
}

// WasmBare builds testplugins/<name>.c alone (without
// clawd_plugin_wasm.c) as a reactor module whose imports the source
// declares itself: modules of another shape than this host's, or with
// glue of their own. extraFlags select a variant.
func WasmBare(tb testing.TB, name string, extraFlags ...string) string {
	tb.Helper()
	zig := RequireZig(tb)
	root := repoRoot(tb)
	src := filepath.Join(root, "testplugins", name+".c")
	return zigCached(tb, zig, root, src, "wasm-bare", extraFlags, func(dir string) (string, error) {
		out := filepath.Join(dir, name+".wasm")
		args := append(append([]string{}, zig...), "cc", "-target", "wasm32-wasi", "-mexec-model=reactor",
			"-O2", "-Wl,--strip-debug", "-I"+filepath.Join(root, "include"))
		args = append(args, extraFlags...)
		args = append(args, src, "-o", out)
		_, err := Run(dir, []string{"ZIG_LOCAL_CACHE_DIR=" + filepath.Join(dir, "zig-cache")}, args...)
		return out, err
	})
}

// zigCached builds src with Zig into the shared cache, keyed by what, the
// Zig, the source, include/ and the flags; the output keeps the source's
// stem, with .wasm.
func zigCached(tb testing.TB, zig []string, root, src, what string, flags []string, build func(dir string) (string, error)) string {
	tb.Helper()
	id, err := zigID(zig)
	if err == nil {
		var inc, srcID string
		if inc, err = includeID(root); err == nil {
			if srcID, err = fileID(src); err == nil {
				name := strings.TrimSuffix(filepath.Base(src), filepath.Ext(src)) + ".wasm"
				return Cached(tb, name, append([]string{what, id, inc, src, srcID}, flags...), build)
			}
		}
	}
	tb.Fatal(err)
	return ""
}
