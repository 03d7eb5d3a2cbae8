// Builds served from outside the test process, for test binaries that run
// where no compiler can: a Windows test binary under Wine, a linux/arm64
// one under qemu-user. The cross-test harness (internal/crosstest) sets
// PrebuiltEnv to a directory it shares with the test binary and compiles,
// on the build machine and for the test binary's target, every C build the
// tests ask for: the test writes a Request into <dir>/requests and waits
// for <dir>/out/<Out>, or for <Out>.err holding the compiler's message.
// The same test asks for the same builds as on the build machine, with the
// same flags, so no list of variants is kept anywhere.

package cbuild

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// PrebuiltEnv names the directory of the build service; unset, the tests
// run $CC themselves.
const PrebuiltEnv = "CLAWD_PREBUILT"

// PrebuiltTimeout bounds the wait for one build.
const PrebuiltTimeout = 5 * time.Minute

// Request is one build asked of the service.
type Request struct {
	Lib   bool     `json:"lib"`   // a shared library; false: an executable
	Src   string   `json:"src"`   // the C source, relative to the repository root, with slashes
	Flags []string `json:"flags"` // after the base flags of the target (LibFlags, ProgFlags)
	Out   string   `json:"out"`   // where the result goes, relative to <dir>/out, with slashes
}

// Prebuilt reports the build service's directory, "" if there is none.
func Prebuilt() string { return os.Getenv(PrebuiltEnv) }

// LibFlags are the base flags of a shared library for goos; root is the
// repository root. -fvisibility=hidden leaves only CLAWD_PLUGIN_EXPORT
// symbols in the dynamic symbol table, as a real plugin build should.
func LibFlags(goos, root string) []string {
	f := []string{"-shared"}
	if goos == "darwin" {
		f[0] = "-dynamiclib"
	}
	if goos != "windows" {
		f = append(f, "-fPIC", "-pthread")
	}
	return append(f, "-fvisibility=hidden", "-O2", "-Wall", "-Wextra", "-Werror", "-I"+filepath.Join(root, "include"))
}

// ProgFlags are the base flags of an executable for goos.
func ProgFlags(goos, root string) []string {
	f := []string{"-O2", "-Wall", "-Wextra", "-Werror", "-I" + filepath.Join(root, "include")}
	if goos != "windows" {
		f = append(f, "-pthread")
	}
	return f
}

// request names the build of src (absolute) with flags, as outPath does:
// the source's stem, a hash of the extra flags if any, in a directory
// named by the source so that two sources of one stem stay apart.
func request(k kind, root, src string, fixed, extra []string) (Request, error) {
	rel, err := filepath.Rel(root, src)
	if err != nil || strings.HasPrefix(rel, "..") {
		return Request{}, fmt.Errorf("cbuild: %s is outside the repository, which the build service cannot reach", src)
	}
	rel = filepath.ToSlash(rel)
	name := outName(k, path.Base(rel), extra)
	return Request{
		Lib:   k == kindLib,
		Src:   rel,
		Flags: append(append([]string{}, fixed...), extra...),
		Out:   hash8(rel) + "/" + name,
	}, nil
}

// fromService asks the build service for the build and waits for it.
func fromService(svc string, r Request) (string, error) {
	out := filepath.Join(svc, "out", filepath.FromSlash(r.Out))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	js, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	reqDir := filepath.Join(svc, "requests")
	id := strings.ReplaceAll(r.Out, "/", "-") + "-" + hash8(string(js))
	if _, err := os.Stat(filepath.Join(reqDir, id+".json")); errors.Is(err, os.ErrNotExist) {
		// Written under another name, then renamed: the service never reads half a request.
		tmp := filepath.Join(reqDir, fmt.Sprintf(".%s.%d", id, os.Getpid()))
		if err := os.WriteFile(tmp, js, 0o644); err != nil {
			return "", fmt.Errorf("cbuild: ask the build service in %s=%s: %w", PrebuiltEnv, svc, err)
		}
		if err := os.Rename(tmp, filepath.Join(reqDir, id+".json")); err != nil {
			return "", fmt.Errorf("cbuild: ask the build service in %s=%s: %w", PrebuiltEnv, svc, err)
		}
	}
	deadline := time.Now().Add(PrebuiltTimeout)
	for {
		if _, err := os.Stat(out); err == nil {
			return out, nil
		}
		if msg, err := os.ReadFile(out + ".err"); err == nil {
			return "", fmt.Errorf("cbuild: the build service could not build %s %q: %s", r.Src, r.Flags, msg)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("cbuild: the build service in %s=%s did not build %s %q within %s (is the harness running?)",
				PrebuiltEnv, svc, r.Src, r.Flags, PrebuiltTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// servedBuild is cached's build through the service.
func servedBuild(svc string, k kind, src string, fixed, extra []string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	r, err := request(k, root, src, fixed, extra)
	if err != nil {
		return "", err
	}
	return fromService(svc, r)
}

// copyFile copies src to dst (Build's output path under the service).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// skipUnserved skips a build the service does not do (a Makefile, Cargo,
// Zig's own build, a wasm module): it runs a toolchain, which does not run
// where the service is needed. The reason names the build, and the
// harness lists every such skip.
func skipUnserved(tb testing.TB, what string) {
	tb.Helper()
	if svc := Prebuilt(); svc != "" {
		tb.Skipf("cbuild: %s runs a toolchain on %s/%s, where the tests get only C builds from the build service (%s): not run there",
			what, runtime.GOOS, runtime.GOARCH, PrebuiltEnv)
	}
}
