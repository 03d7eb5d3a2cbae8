package cbuild_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/clawd-go/clawd/internal/cbuild"
)

// Once builds once per key, whoever asks first, and every caller gets the
// same path in a directory of its own.
// onceRuns gives each run of TestOnce keys of its own: the cache is
// process-wide, and go test -count=N runs the test N times in one process.
var onceRuns atomic.Int32

func TestOnce(t *testing.T) {
	key := fmt.Sprintf("TestOnce %d", onceRuns.Add(1))
	var builds atomic.Int32
	build := func(dir string) (string, error) {
		builds.Add(1)
		p := filepath.Join(dir, "out")
		return p, os.WriteFile(p, []byte("x"), 0o644)
	}
	var wg sync.WaitGroup
	paths := make([]string, 8)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i] = cbuild.Once(t, key, build)
		}()
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("built %d times", n)
	}
	for _, p := range paths {
		if p != paths[0] {
			t.Fatalf("paths differ: %q", paths)
		}
	}
	if other := cbuild.Once(t, key+" other", build); filepath.Dir(other) == filepath.Dir(paths[0]) {
		t.Fatalf("two keys share the directory %s", filepath.Dir(other))
	}
}

// A make started by a test must not see the make above it.
func TestRunDropsMakeVariables(t *testing.T) {
	t.Setenv("MAKEFLAGS", "-j8 --jobserver-auth=3,4")
	t.Setenv("MAKELEVEL", "1")
	out, err := cbuild.Run("", []string{"EXTRA=1"}, "sh", "-c", "echo \"[$MAKEFLAGS][$MAKELEVEL][$EXTRA]\"")
	if err != nil {
		t.Skip(err) // no sh
	}
	if got := strings.TrimSpace(string(out)); got != "[][][1]" {
		t.Fatalf("got %s", got)
	}
}

func TestLibName(t *testing.T) {
	if got := cbuild.LibName("x_y"); !strings.Contains(got, "x_y") || !strings.HasSuffix(got, cbuild.LibExt) {
		t.Fatalf("LibName(x_y) = %s", got)
	}
}
