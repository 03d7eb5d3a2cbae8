package cbuild_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/clawd-go/clawd/internal/cbuild"
)

// The helper process of the cache tests: it builds $CBUILD_HELPER_SRC as a
// library, as a test binary would, and prints where it got it.
func TestCacheHelper(t *testing.T) {
	src := os.Getenv("CBUILD_HELPER_SRC")
	if src == "" {
		t.Skip("the cache tests' helper process")
	}
	fmt.Printf("PATH=%s\n", cbuild.Library(t, src))
}

// cacheRig runs helper test processes against one cache directory, with a
// C compiler that logs each compile (not its --version) to a file.
type cacheRig struct {
	t            *testing.T
	cache, log   string
	wrapper, src string
}

func newCacheRig(t *testing.T) *cacheRig {
	if runtime.GOOS == "windows" || cbuild.Prebuilt() != "" {
		t.Skip("the logging compiler is a shell script")
	}
	cbuild.RequireTool(t, cbuild.CC())
	cc, err := exec.LookPath(cbuild.CC()[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := &cacheRig{t: t, cache: filepath.Join(dir, "cache"), log: filepath.Join(dir, "log"),
		wrapper: filepath.Join(dir, "cc"), src: filepath.Join(dir, "plug.c")}
	script := "#!/bin/sh\ncase \" $* \" in *\" -o \"*) echo compile >> '" + r.log + "';; esac\nexec '" + cc + "' \"$@\"\n"
	if err := os.WriteFile(r.wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := cbuild.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "testplugins", "minimal.c"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// build runs one helper process and returns the path it got.
func (r *cacheRig) build() string {
	r.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCacheHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), cbuild.CacheEnv+"="+r.cache, "CC="+r.wrapper, "CBUILD_HELPER_SRC="+r.src)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("helper: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if p, ok := strings.CutPrefix(line, "PATH="); ok {
			return p
		}
	}
	r.t.Fatalf("helper printed no path:\n%s", out)
	return ""
}

// compiles is how many compiles the logging compiler has seen.
func (r *cacheRig) compiles() int {
	data, err := os.ReadFile(r.log)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return bytes.Count(data, []byte("compile\n"))
}

// One build serves every later test process; a changed source is built
// again; an entry that is not the sound file it was (emptied, changed in
// place, a link) is built again, never used.
func TestCacheSharedAcrossProcesses(t *testing.T) {
	r := newCacheRig(t)
	first := r.build()
	if !strings.HasPrefix(first, r.cache+string(filepath.Separator)) {
		t.Fatalf("built %s, outside the cache %s", first, r.cache)
	}
	if got := r.build(); got != first || r.compiles() != 1 {
		t.Fatalf("second process: %s and %d compiles, want the cached %s and 1 compile", got, r.compiles(), first)
	}

	// The source changes: a new build, elsewhere (a process still using
	// the old one keeps it).
	if err := os.WriteFile(r.src, append(mustRead(t, r.src), "\n/* changed */\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := r.build()
	if changed == first || r.compiles() != 2 {
		t.Fatalf("after a source change: %s and %d compiles, want a new build", changed, r.compiles())
	}

	good := mustRead(t, changed)
	flipped := append([]byte{}, good...)
	flipped[len(flipped)/2] ^= 0xff
	other := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(other, good, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, spoil := range []struct {
		what string
		do   func() error
	}{
		{"emptied", func() error { return os.WriteFile(changed, nil, 0o755) }},
		{"changed in place", func() error { return os.WriteFile(changed, flipped, 0o755) }},
		{"a link to a good copy", func() error {
			if err := os.Remove(changed); err != nil {
				return err
			}
			return os.Symlink(other, changed)
		}},
		{"removed", func() error { return os.Remove(changed) }},
	} {
		if err := spoil.do(); err != nil {
			t.Fatal(err)
		}
		if got := r.build(); got != changed || r.compiles() != 3+i {
			t.Fatalf("entry %s: %s and %d compiles, want a rebuild at %s", spoil.what, got, r.compiles(), changed)
		}
		fi, err := os.Lstat(changed)
		if err != nil || !fi.Mode().IsRegular() || !bytes.Equal(mustRead(t, changed), good) {
			t.Fatalf("entry %s: not rebuilt to the good bytes (%v)", spoil.what, err)
		}
	}
}

// Test processes racing on one key each get a whole, sound file, and the
// entry they leave serves the next one.
func TestCacheRace(t *testing.T) {
	r := newCacheRig(t)
	const n = 4
	paths := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { paths[i] = r.build() })
	}
	wg.Wait()
	for _, p := range paths {
		if p != paths[0] {
			t.Fatalf("racing processes got %v", paths)
		}
	}
	c := r.compiles()
	if c < 1 || c > n {
		t.Fatalf("%d compiles for %d racing processes", c, n)
	}
	if got := r.build(); got != paths[0] || r.compiles() != c {
		t.Errorf("after the race: %s and %d compiles, want the cached %s and %d", got, r.compiles(), paths[0], c)
	}
	left, err := filepath.Glob(filepath.Join(r.cache, ".build-*"))
	if err != nil || len(left) != 0 {
		t.Errorf("work directories left behind: %v %v", left, err)
	}
}

// The compiler is part of the key: another $CC builds again.
func TestCacheKeyHasCompiler(t *testing.T) {
	r := newCacheRig(t)
	first := r.build()
	script := mustRead(t, r.wrapper)
	r.wrapper += "2"
	if err := os.WriteFile(r.wrapper, script, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := r.build(); got == first || r.compiles() != 2 {
		t.Errorf("another compiler: %s and %d compiles, want a new build", got, r.compiles())
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
