package cbuild_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clawd-go/clawd/internal/cbuild"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

func TestRepoRoot(t *testing.T) {
	root, err := cbuild.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "include", "clawd_plugin.h")); err != nil {
		t.Errorf("RepoRoot() = %s, which has no include/clawd_plugin.h: %v", root, err)
	}
}

// variants are the -D builds the tests rely on, besides each source plain.
var variants = map[string][][]string{
	"echo":                  {{`-DECHO_VERSION="2.0.0"`}, {`-DECHO_NAME="echo2"`, `-DECHO_VERSION="2.0.0"`}},
	"signals":               {{"-DSIGNALS_IN_CONSTRUCTOR"}},
	"null_name":             {{"-DNULL_VERSION"}},
	"bad_name_unterminated": {{"-DTERMINATE_AT=255"}, {"-DTERMINATE_AT=256"}},
	"fragile":               {{"-DFRAGILE_EMPTY"}, {"-DFRAGILE_UTF8"}, {"-DFRAGILE_DEEP"}},
}

// TestAllTestPluginsCompile builds every testplugins/*.c, and each variant,
// with the flags the tests use (C99, -Wall -Wextra -Werror, plus -pedantic
// here), so a warning in any of them fails here first.
func TestAllTestPluginsCompile(t *testing.T) {
	root, err := cbuild.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := filepath.Glob(filepath.Join(root, "testplugins", "*.c"))
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no testplugins/*.c: %v", err)
	}
	for _, src := range srcs {
		name := strings.TrimSuffix(filepath.Base(src), ".c")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			builds := append([][]string{nil}, variants[name]...)
			for _, flags := range builds {
				p := cbuild.Plugin(t, name, append([]string{"-pedantic"}, flags...)...)
				if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
					t.Errorf("%s %v: no library at %s: %v", name, flags, p, err)
				}
			}
		})
	}
}

func TestPluginNamingAndCache(t *testing.T) {
	plain := cbuild.Plugin(t, "minimal")
	if got, want := filepath.Base(plain), "minimal"+cbuild.LibExt; got != want {
		t.Errorf("plain build named %s, want %s (hosts fall back to the file stem)", got, want)
	}
	again := cbuild.Plugin(t, "minimal")
	if again != plain {
		t.Errorf("second build of the same source: %s, want the cached %s", again, plain)
	}
	v1 := cbuild.Plugin(t, "echo", `-DECHO_VERSION="2.0.0"`)
	v2 := cbuild.Plugin(t, "echo", `-DECHO_VERSION="3.0.0"`)
	base := cbuild.Plugin(t, "echo")
	if v1 == v2 || v1 == base || v2 == base {
		t.Errorf("variants share a path: %s %s %s", base, v1, v2)
	}
	for _, p := range []string{v1, v2} {
		if !strings.HasPrefix(filepath.Base(p), "echo-") || !strings.HasSuffix(p, cbuild.LibExt) {
			t.Errorf("variant named %s, want echo-<hash>%s", filepath.Base(p), cbuild.LibExt)
		}
	}
	if filepath.Dir(v1) != filepath.Dir(base) {
		t.Errorf("variants in different directories: %s, %s", v1, base)
	}
}

func TestBuildAndProgram(t *testing.T) {
	root, err := cbuild.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "custom"+cbuild.LibExt)
	cbuild.Build(t, filepath.Join(root, "testplugins", "minimal.c"), out)
	if _, err := os.Stat(out); err != nil {
		t.Error(err)
	}
	prog := cbuild.Program(t, "include/testdata/layout_print.c")
	if fi, err := os.Stat(prog); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("Program: %s not an executable: %v", prog, err)
	}
}
