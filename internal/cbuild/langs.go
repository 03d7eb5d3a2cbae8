// Builders for the other languages plugins are written in (C++, Rust, Zig),
// for the tests of the examples, of the layout cross-check and of
// `clawd-plugin new`. They share the C builds' rules: each build is made
// once into the shared cache (keyed by the toolchains, the sources and
// include/), and a missing toolchain skips the test unless
// RequireAllToolchains. Once runs any other build once per test process.

package cbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Once runs build once per test process for key and returns the path it
// returned. build gets a fresh, empty directory of its own under the
// process-wide output directory. A failed build fails every caller.
func Once(tb testing.TB, key string, build func(dir string) (string, error)) string {
	tb.Helper()
	skipUnserved(tb, "the "+strings.SplitN(key, "\x00", 2)[0]+" build")
	key = "once\x00" + key
	mu.Lock()
	e, ok := entries[key]
	if !ok {
		e = &entry{}
		entries[key] = e
		d, err := dir()
		if err != nil {
			e.err = err
		} else {
			e.path = filepath.Join(d, "b-"+hash8(key))
		}
	}
	mu.Unlock()
	e.once.Do(func() {
		if e.err != nil {
			return
		}
		if e.err = os.MkdirAll(e.path, 0o755); e.err != nil {
			return
		}
		e.path, e.err = build(e.path)
	})
	if e.err != nil {
		tb.Fatal(e.err)
	}
	return e.path
}

// Run runs cmd (an argv) in dir with extra environment variables and
// returns its combined output; the error carries the command and output.
// Make's own variables are dropped from the environment, so that a make
// started by a test never joins the jobserver of a `make test` above it.
func Run(dir string, env []string, cmd ...string) ([]byte, error) {
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Dir = dir
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
			continue
		}
		c.Env = append(c.Env, kv)
	}
	c.Env = append(c.Env, env...)
	out, err := c.CombinedOutput()
	if err != nil {
		where := ""
		if dir != "" {
			where = " (in " + dir + ")"
		}
		return out, fmt.Errorf("%s%s: %v\n%s", strings.Join(cmd, " "), where, err, out)
	}
	return out, nil
}

// LibName is the file name a build tool gives the shared library of a
// target called name on this OS: libNAME.so, libNAME.dylib, NAME.dll.
func LibName(name string) string {
	if runtime.GOOS == "windows" {
		return name + LibExt
	}
	return "lib" + name + LibExt
}

var (
	zigOnce sync.Once
	zigCmd  []string
)

// Zig returns the command that runs the Zig compiler, or nil: $ZIG split on
// blanks if set; else zig on PATH; else `python3 -m ziglang` (the Zig
// toolchain packaged on PyPI as ziglang) if that runs.
func Zig() []string {
	zigOnce.Do(func() {
		if f := strings.Fields(os.Getenv("ZIG")); len(f) > 0 {
			zigCmd = f
			return
		}
		if _, err := exec.LookPath("zig"); err == nil {
			zigCmd = []string{"zig"}
			return
		}
		py := []string{"python3", "-m", "ziglang"}
		if _, err := exec.LookPath(py[0]); err == nil {
			if err := exec.Command(py[0], append(py[1:], "version")...).Run(); err == nil {
				zigCmd = py
			}
		}
	})
	return zigCmd
}

// RequireZig returns Zig(), or skips tb (fails it if RequireAllToolchains).
func RequireZig(tb testing.TB) []string {
	tb.Helper()
	skipUnserved(tb, "Zig")
	z := Zig()
	if z == nil {
		const why = "no Zig toolchain: neither $ZIG, zig on PATH nor `python3 -m ziglang` (pip install ziglang)"
		if RequireAllToolchains() {
			tb.Fatal(why + " and REQUIRE_ALL_TOOLCHAINS is set")
		}
		tb.Skip(why)
	}
	return z
}

// ZigModule is the name Zig sources import the ABI's declarations by:
// `const c = @import("clawd_plugin");`, the file include/clawd_plugin.zig.
const ZigModule = "clawd_plugin"

// ZigProgram builds the Zig source src (relative to the repository root
// unless absolute) as an executable with include/clawd_plugin.zig as the
// module "clawd_plugin", once into the shared cache, and returns its path.
func ZigProgram(tb testing.TB, src string) string {
	tb.Helper()
	zig := RequireZig(tb)
	root := repoRoot(tb)
	src = abs(tb, src)
	id, err := zigID(zig)
	if err != nil {
		tb.Fatal(err)
	}
	name := strings.TrimSuffix(filepath.Base(src), ".zig") + exeExt
	return Cached(tb, name, []string{"zig-program", id, treeOrFail(tb, filepath.Join(root, "include")), src, fileOrFail(tb, src)}, func(dir string) (string, error) {
		mod := filepath.Join(root, "include", ZigModule+".zig")
		out := filepath.Join(dir, name)
		// ReleaseFast: a layout printer needs no safety checks, and it
		// spares compiling the full panic handler (seconds with LLVM).
		_, err := Run(dir, nil, append(zig, "build-exe", "-OReleaseFast", "-lc",
			"--cache-dir", filepath.Join(dir, "zig-cache"),
			"--dep", ZigModule, "-Mroot="+src, "-M"+ZigModule+"="+mod,
			"-femit-bin="+out)...)
		return out, err
	})
}

// RustProgram builds the Rust source src (relative to the repository root
// unless absolute) with plain rustc, once into the shared cache, and
// returns its path.
func RustProgram(tb testing.TB, src string) string {
	tb.Helper()
	RequireTool(tb, []string{"rustc"})
	src = abs(tb, src)
	id, err := toolID([]string{"rustc"}, "--version", "--verbose")
	if err != nil {
		tb.Fatal(err)
	}
	name := strings.TrimSuffix(filepath.Base(src), ".rs") + exeExt
	return Cached(tb, name, []string{"rust-program", id, src, fileOrFail(tb, src)}, func(dir string) (string, error) {
		out := filepath.Join(dir, name)
		_, err := Run(dir, nil, "rustc", "--edition", "2021", "-O", "-o", out, src)
		return out, err
	})
}

// Cargo builds the crate in crateDir (relative to the repository root
// unless absolute) with `cargo build --release --offline`, its target
// directory a fresh one, once into the shared cache, and returns the path
// of the shared library of lib target libName.
func Cargo(tb testing.TB, crateDir, libName string) string {
	tb.Helper()
	RequireTool(tb, []string{"cargo"})
	crateDir = abs(tb, crateDir)
	key := []string{"cargo", crateDir, treeOrFail(tb, crateDir), treeOrFail(tb, filepath.Join(repoRoot(tb), "include")),
		toolOrFail(tb, []string{"cargo"}, "--version", "--verbose"), toolOrFail(tb, []string{"rustc"}, "--version", "--verbose"),
		os.Getenv("RUSTFLAGS"), os.Getenv("RUSTC"), libName}
	return Cached(tb, LibName(libName), key, func(dir string) (string, error) {
		_, err := Run(crateDir, []string{"CARGO_TARGET_DIR=" + dir}, "cargo", "build", "--release", "--offline", "--quiet")
		return filepath.Join(dir, "release", LibName(libName)), err
	})
}

// Make runs `make -C projDir BUILD=<dir>` once into the shared cache and
// returns the cached <dir>/<output>: how the tests build the C++ and Zig examples, with the
// Makefile a user runs (their Makefiles take BUILD as the output directory).
func Make(tb testing.TB, projDir, output string) string {
	tb.Helper()
	RequireTool(tb, []string{"make"})
	projDir = abs(tb, projDir)
	// The Makefiles run $(CXX) or $(ZIG), found by the environment.
	key := []string{"make", projDir, treeOrFail(tb, projDir), treeOrFail(tb, filepath.Join(repoRoot(tb), "include")), output,
		toolOrFail(tb, []string{"make"}, "--version"), os.Getenv("CXX"), os.Getenv("CXXFLAGS"), os.Getenv("ZIG")}
	if _, err := exec.LookPath(CXX()[0]); err == nil {
		key = append(key, toolOrFail(tb, CXX(), "--version"))
	}
	if z := Zig(); z != nil {
		key = append(key, toolOrFail(tb, z, "version"))
	}
	return Cached(tb, filepath.Base(output), key, func(dir string) (string, error) {
		out, err := Run(projDir, nil, "make", "--no-print-directory", "BUILD="+dir)
		p := filepath.Join(dir, output)
		if err == nil {
			if _, serr := os.Stat(p); serr != nil {
				err = fmt.Errorf("make in %s succeeded without writing %s: %v\n%s", projDir, output, serr, out)
			}
		}
		return p, err
	})
}

// treeOrFail is treeID, or fails tb.
func treeOrFail(tb testing.TB, dir string) string {
	tb.Helper()
	id, err := treeID(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// fileOrFail is fileID, or fails tb.
func fileOrFail(tb testing.TB, path string) string {
	tb.Helper()
	id, err := fileID(path)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// toolOrFail is toolID, or fails tb.
func toolOrFail(tb testing.TB, argv []string, versionArgs ...string) string {
	tb.Helper()
	id, err := toolID(argv, versionArgs...)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// CrossEnv names the cross builds a run makes: a comma-separated list of
// "windows" (DLLs cross-compiled with Zig: `make test-windows`), "arm64"
// (linux/arm64 libraries: `make test-arm64`) and "wasm-cxx" (C++ built
// for wasm32 with libc++: `make test-wasm-cxx`), or "all". `make test` sets
// none: a cross build on a cold Zig cache first compiles the target's C
// library (minutes for Windows' on two cores); the emulator targets, which
// compile it anyway, run these tests too, and CI runs both.
const CrossEnv = "CLAWD_CROSS_BUILDS"

// crossTargets maps each name CrossEnv takes to the make target that sets it.
var crossTargets = map[string]string{"windows": "make test-windows", "arm64": "make test-arm64", "wasm-cxx": "make test-wasm-cxx"}

// RequireCross skips tb unless CrossEnv names target ("windows", "arm64"
// or "wasm-cxx"), saying which make target runs it. An unknown target fails tb.
func RequireCross(tb testing.TB, target string) {
	tb.Helper()
	mk, ok := crossTargets[target]
	if !ok {
		tb.Fatalf("cbuild.RequireCross: unknown target %q (windows, arm64 or wasm-cxx)", target)
	}
	for _, f := range strings.Split(os.Getenv(CrossEnv), ",") {
		if f = strings.TrimSpace(f); f == target || f == "all" {
			return
		}
	}
	tb.Skipf("a %s cross build with Zig: run by `%s` (and CI), which set %s=%s; `make test` leaves it out for time", target, mk, CrossEnv, target)
}
