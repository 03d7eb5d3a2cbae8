// Package cbuild compiles C sources for tests: the plugins in testplugins/,
// examples, and small C programs. It uses $CC (default "cc") so that
// `go test ./...` needs no prior make step.
//
// Each distinct build is made once for all test binaries and runs, in a
// cache shared by them (cache.go: keyed by the compiler, the source, the
// headers of include/, the flags and the target; CLAWD_CBUILD_CACHE moves
// it). Builds with extra flags get a hash of the flags in the file name
// (echo-1a2b3c4d.so), so one source can yield several variants that the
// dynamic loader sees as different libraries; a build without extra flags
// keeps the source's stem (echo.so), which is what a host that falls back
// to the file stem will see. A cached file is shared: copy it (Build)
// before changing it.
//
// The examples in C++, Rust and Zig, and the layout printers, are cached
// the same way (langs.go): Make, Cargo, RustProgram, ZigProgram. Once runs
// any other build once per test process, in a process-wide directory.
//
// A missing compiler skips the test, unless REQUIRE_ALL_TOOLCHAINS is set
// (to anything but "", "0" or "false"): then it fails it.
//
// Call Cleanup from TestMain to remove Once's directory; a directory left by
// a test process that has exited is removed by the next one that builds:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		cbuild.Cleanup()
//		os.Exit(code)
//	}
package cbuild

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Module is the module path RepoRoot looks for in go.mod.
const Module = "github.com/clawd-go/clawd"

// LibExt is the file extension of a shared library on this OS.
var LibExt = libExt(runtime.GOOS)

func libExt(goos string) string {
	switch goos {
	case "darwin", "ios":
		return ".dylib"
	case "windows":
		return ".dll"
	}
	return ".so"
}

// exeExt is the extension of an executable on this OS.
var exeExt = map[bool]string{true: ".exe", false: ""}[runtime.GOOS == "windows"]

// RepoRoot returns the directory of the go.mod whose module is Module,
// walking up from the working directory (go test runs in the package dir).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if mod, err := modulePath(filepath.Join(dir, "go.mod")); err == nil && mod == Module {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("cbuild: no go.mod for module %s above the working directory", Module)
		}
		dir = parent
	}
}

func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("cbuild: no module line in " + gomod)
}

func repoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// CC returns the C compiler command: $CC split on blanks (so "ccache gcc"
// or "zig cc" work), or "cc".
func CC() []string { return command("CC", "cc") }

// CXX returns the C++ compiler command: $CXX split on blanks, or "c++".
func CXX() []string { return command("CXX", "c++") }

func command(env, def string) []string {
	if f := strings.Fields(os.Getenv(env)); len(f) > 0 {
		return f
	}
	return []string{def}
}

// RequireAllToolchains reports whether REQUIRE_ALL_TOOLCHAINS asks for every
// toolchain to be present (CI sets it).
func RequireAllToolchains() bool {
	switch strings.ToLower(os.Getenv("REQUIRE_ALL_TOOLCHAINS")) {
	case "", "0", "false":
		return false
	}
	return true
}

// RequireTool skips tb when cmd[0] is not on PATH, or fails it when
// RequireAllToolchains is true. Under the build service (Prebuilt) it skips
// whatever RequireAllToolchains says: the tool would run on the emulated
// target, where no toolchain runs.
func RequireTool(tb testing.TB, cmd []string) {
	tb.Helper()
	skipUnserved(tb, cmd[0])
	if _, err := exec.LookPath(cmd[0]); err != nil {
		if RequireAllToolchains() {
			tb.Fatalf("%s not found and REQUIRE_ALL_TOOLCHAINS is set: %v", cmd[0], err)
		}
		tb.Skipf("%s not found: %v", cmd[0], err)
	}
}

func libFlags(root string) []string  { return LibFlags(runtime.GOOS, root) }
func progFlags(root string) []string { return ProgFlags(runtime.GOOS, root) }

// Build compiles the C source src into the shared library out with the base
// flags plus flags: a copy of the shared cache's build, so that the caller
// may change it. tb fails with the compiler's output.
func Build(tb testing.TB, src, out string, flags ...string) {
	tb.Helper()
	if svc := Prebuilt(); svc != "" {
		absSrc, err := filepath.Abs(src)
		var built string
		if err == nil {
			built, err = servedBuild(svc, kindLib, absSrc, nil, flags)
		}
		if err == nil {
			err = copyFile(built, out)
		}
		if err != nil {
			tb.Fatal(err)
		}
		return
	}
	RequireTool(tb, CC())
	absSrc, err := filepath.Abs(src)
	var p string
	if err == nil {
		p, err = cachedC(kindLib, absSrc, nil, flags)
	}
	if err == nil {
		err = copyFile(p, out)
	}
	if err != nil {
		tb.Fatal(err)
	}
}

func compile(src, out string, flags []string) error {
	cc := CC()
	args := append(append(cc[1:len(cc):len(cc)], flags...), "-o", out, src)
	cmd := exec.Command(cc[0], args...)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cbuild: %s: %v\n%s", strings.Join(cmd.Args, " "), err, output)
	}
	return nil
}

// Plugin builds testplugins/<name>.c as a C99 shared library and returns its
// path. extraFlags (typically -D defines) select a variant; each variant is
// built once per process.
func Plugin(tb testing.TB, name string, extraFlags ...string) string {
	tb.Helper()
	src := filepath.Join(repoRoot(tb), "testplugins", name+".c")
	return cached(tb, kindLib, src, []string{"-std=c99"}, extraFlags)
}

// Library builds any C source as a shared library, cached like Plugin, and
// returns its path. src is relative to the repository root unless absolute.
func Library(tb testing.TB, src string, extraFlags ...string) string {
	tb.Helper()
	return cached(tb, kindLib, abs(tb, src), nil, extraFlags)
}

// Program builds the C source src as an executable, cached like Plugin, and
// returns its path. src is relative to the repository root unless absolute.
func Program(tb testing.TB, src string, extraFlags ...string) string {
	tb.Helper()
	return cached(tb, kindProg, abs(tb, src), nil, extraFlags)
}

func abs(tb testing.TB, src string) string {
	tb.Helper()
	if filepath.IsAbs(src) {
		return filepath.Clean(src)
	}
	return filepath.Join(repoRoot(tb), src)
}

type kind int

const (
	kindLib kind = iota
	kindProg
)

type entry struct {
	once sync.Once
	path string
	err  error
}

var (
	mu      sync.Mutex
	tmpDir  string
	entries = map[string]*entry{}
)

// dir returns the process-wide output directory, creating it on first use.
// Its name carries our pid so that a later process can remove the
// directories of test processes that died or never called Cleanup.
func dir() (string, error) {
	if tmpDir == "" {
		sweepOrphans()
		d, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", dirPrefix, os.Getpid()))
		if err != nil {
			return "", err
		}
		tmpDir = d
	}
	return tmpDir, nil
}

const dirPrefix = "clawd-cbuild-"

// sweepOrphans removes output directories whose process is gone. A pid
// that is alive (or reused) keeps its directory: when in doubt, keep.
func sweepOrphans() {
	if runtime.GOOS == "windows" {
		return
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*-*"))
	for _, d := range dirs {
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), dirPrefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		p, err := os.FindProcess(pid)
		if err == nil {
			err = p.Signal(syscall.Signal(0))
			p.Release()
		}
		if errors.Is(err, os.ErrProcessDone) {
			os.RemoveAll(d)
		}
	}
}

func hash8(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:8]
}

func cached(tb testing.TB, k kind, src string, fixed, extra []string) string {
	tb.Helper()
	if svc := Prebuilt(); svc != "" {
		p, err := servedBuild(svc, k, src, fixed, extra)
		if err != nil {
			tb.Fatal(err)
		}
		return p
	}
	RequireTool(tb, CC())
	p, err := cachedC(k, src, fixed, extra)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// cachedC builds src from the shared cache. The variants of one source
// (other extra flags) share a directory, each named by outName.
func cachedC(k kind, src string, fixed, extra []string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	var flags []string
	if k == kindLib {
		flags = libFlags(root)
	} else {
		flags = progFlags(root)
	}
	flags = append(append(flags, fixed...), extra...)
	cc, err := ccID()
	if err != nil {
		return "", err
	}
	inc, err := includeID(root)
	if err != nil {
		return "", err
	}
	srcID, err := fileID(src)
	if err != nil {
		return "", fmt.Errorf("cbuild: %w", err)
	}
	cwd := ""
	for _, f := range flags {
		if strings.HasPrefix(f, "-I") && !filepath.IsAbs(strings.TrimPrefix(f, "-I")) {
			// A relative include directory is found from the working
			// directory, which is the test's package.
			cwd, _ = os.Getwd()
		}
	}
	dirKey := keyHash(append([]string{"c", fmt.Sprint(k), src, srcID, cc, inc, cwd}, fixed...)...)
	name := outName(k, filepath.Base(src), extra)
	return fromCache(dirKey, name, keyHash(flags...), func(dir string) (string, error) {
		out := filepath.Join(dir, name)
		return out, compile(src, out, flags)
	})
}

// outName is the file a build of src (its base name) writes: its stem, a
// hash of the extra flags when there are any (two builds of one source with
// other flags stay apart), and the kind's extension.
func outName(k kind, base string, extra []string) string {
	name := strings.TrimSuffix(base, filepath.Ext(base))
	if len(extra) > 0 {
		name += "-" + hash8(extra...)
	}
	if k == kindLib {
		return name + LibExt
	}
	return name + exeExt
}

// Cleanup removes every file Once built in this process (the shared cache
// stays). Call it from TestMain after m.Run; libraries still mapped stay
// usable on Unix.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	tmpDir = ""
	entries = map[string]*entry{}
}
