package scaffold_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/include"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/scaffold"
	"github.com/clawd-go/clawd/manifest"
)

// Building each project and running check on it is tested end to end in
// cmd/clawd-plugin (new_test.go); these tests need no toolchain, except
// TestFreshProjectSurvivesNullContext (nullctx_test.go).

func TestValidName(t *testing.T) {
	for _, name := range []string{"a", "hello", "my-plugin", "my_plugin", "p2", "a-b_c-9", strings.Repeat("x", 64)} {
		if err := scaffold.ValidName("c", name); err != nil {
			t.Errorf("ValidName(%q) = %v", name, err)
		}
	}
	for _, tc := range []struct{ lang, name string }{
		{"c", ""}, {"c", "Hello"}, {"c", "9lives"}, {"c", "-x"}, {"c", "_x"}, {"c", "a b"},
		{"c", "a.b"}, {"c", "a/b"}, {"c", "ünï"}, {"c", strings.Repeat("x", 65)},
		{"rust", "fn"}, {"rust", "std"}, {"rust", "test"}, {"rust", "proc-macro"},
	} {
		if err := scaffold.ValidName(tc.lang, tc.name); !errors.Is(err, scaffold.ErrName) {
			t.Errorf("ValidName(%s, %q) = %v, want ErrName", tc.lang, tc.name, err)
		}
	}
	if err := scaffold.ValidName("c", "fn"); err != nil { // only Rust reserves it
		t.Errorf("ValidName(c, fn) = %v", err)
	}
}

// Every language writes the files it promises; the manifest validates and
// names what the build writes; the ABI's declarations are copies of
// package include's; nothing is left unrendered.
func TestWriteEveryLanguage(t *testing.T) {
	for _, lang := range scaffold.Langs {
		t.Run(lang, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "my-plugin")
			p, err := scaffold.Write(lang, "my-plugin", dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"plugin.toml", "README.md", ".gitignore"} {
				if !slices.Contains(p.Files, f) {
					t.Errorf("files %v lack %s", p.Files, f)
				}
			}
			var header string
			var want []byte
			switch lang {
			case "rust":
				header, want = "src/clawd_plugin.rs", include.RustBindings
			case "zig":
				header, want = "clawd_plugin.zig", include.ZigBindings
			default:
				header, want = "clawd_plugin.h", include.Header
			}
			if got, err := os.ReadFile(filepath.Join(dir, header)); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s is not package include's copy (err %v)", header, err)
			}
			for _, f := range p.Files {
				b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(b, []byte("[[")) || bytes.Contains(b, []byte("<no value>")) {
					t.Errorf("%s holds template text:\n%s", f, b)
				}
			}
			readme, _ := os.ReadFile(filepath.Join(dir, "README.md"))
			for _, s := range []string{strings.Join(p.Build, " "), "clawd-plugin check .", "clawd-plugin sign", p.Library} {
				if !bytes.Contains(readme, []byte(s)) {
					t.Errorf("README.md does not mention %q", s)
				}
			}

			m, err := manifest.LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if m.Name != "my-plugin" || m.Version != scaffold.Version || m.Entry != p.Library {
				t.Errorf("manifest: %s %s entry %s; want my-plugin %s entry %s", m.Name, m.Version, m.Entry, scaffold.Version, p.Library)
			}
			if !strings.Contains(p.Library, "libmy_plugin") {
				t.Errorf("library %s is not named after the identifier my_plugin", p.Library)
			}
			if !slices.Contains(m.Capabilities, abi.CapNetworkRelay) {
				t.Errorf("capabilities %v: the template's send_event needs %s", m.Capabilities, abi.CapNetworkRelay)
			}
		})
	}
}

func TestWriteRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "mine.c")
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := scaffold.Write("c", "x", dir); !errors.Is(err, scaffold.ErrNotEmpty) {
		t.Fatalf("Write into a non-empty dir: %v", err)
	}
	if b, _ := os.ReadFile(keep); string(b) != "mine" {
		t.Fatal("the existing file changed")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("Write left files behind: %v", ents)
	}
	if _, err := scaffold.Write("c", "x", keep); err == nil {
		t.Fatal("Write over a file succeeded")
	}
	// An existing empty directory is fine.
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := scaffold.Write("c", "x", empty); err != nil {
		t.Fatal(err)
	}
}

func TestWriteRefusesBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	if _, err := scaffold.Write("cobol", "x", dir); err == nil {
		t.Error("unknown language accepted")
	}
	if _, err := scaffold.Write("c", "Bad Name", dir); !errors.Is(err, scaffold.ErrName) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused Write created %s", dir)
	}
}

// The Zig the templates are written for is the one CI installs.
func TestZigVersionIsCIs(t *testing.T) {
	root, err := cbuild.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if pin := "ziglang==" + scaffold.ZigVersion; !bytes.Contains(ci, []byte(pin)) {
		t.Errorf(".ci/run does not install %s", pin)
	}
}

// Target wasm: the wasm-only C file is package include's copy, the
// manifest validates with runtime "wasm" and names the .wasm the build
// writes, nothing is left unrendered; rust and unknown targets wrap
// ErrTarget.
func TestWriteWASM(t *testing.T) {
	for _, lang := range []string{"c", "cpp", "zig"} {
		t.Run(lang, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "my-plugin")
			p, err := scaffold.WriteTarget(lang, "wasm", "my-plugin", dir)
			if err != nil {
				t.Fatal(err)
			}
			if p.Target != "wasm" || filepath.Ext(p.Library) != ".wasm" {
				t.Errorf("target %q library %q", p.Target, p.Library)
			}
			if got, err := os.ReadFile(filepath.Join(dir, "clawd_plugin_wasm.c")); err != nil || !bytes.Equal(got, include.WasmGlue) {
				t.Errorf("clawd_plugin_wasm.c is not package include's copy (err %v)", err)
			}
			// The glue includes the C header, whatever the plugin's language.
			if got, err := os.ReadFile(filepath.Join(dir, "clawd_plugin.h")); err != nil || !bytes.Equal(got, include.Header) {
				t.Errorf("clawd_plugin.h is not package include's copy (err %v)", err)
			}
			for _, f := range p.Files {
				b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(b, []byte("[[")) || bytes.Contains(b, []byte("<no value>")) {
					t.Errorf("%s holds template text:\n%s", f, b)
				}
			}
			mk, _ := os.ReadFile(filepath.Join(dir, "Makefile"))
			if !bytes.Contains(mk, []byte("wasm32-wasi")) || !bytes.Contains(mk, []byte("-mexec-model=reactor")) {
				t.Errorf("the Makefile does not build a wasm32-wasi reactor:\n%s", mk)
			}
			m, err := manifest.LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if m.Runtime != manifest.RuntimeWasm || m.Entry != p.Library {
				t.Errorf("manifest runtime %q entry %q, want wasm and %q", m.Runtime, m.Entry, p.Library)
			}
		})
	}
	for _, tc := range []struct{ lang, target string }{{"rust", "wasm"}, {"c", "arm"}, {"c", ""}} {
		if _, err := scaffold.WriteTarget(tc.lang, tc.target, "x", filepath.Join(t.TempDir(), "x")); !errors.Is(err, scaffold.ErrTarget) {
			t.Errorf("WriteTarget(%s, %q) = %v, want ErrTarget", tc.lang, tc.target, err)
		}
	}
	if err := scaffold.ValidTarget("c", "native"); err != nil {
		t.Error(err)
	}
}
