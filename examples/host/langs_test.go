package main

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/manifest"
)

// TestExamplesEveryLanguage builds the hello example of each language with
// its own build file (Makefile, Cargo.toml) into a temporary directory,
// checks its manifest and plays the demo session through it. A missing
// toolchain skips that language, or fails it under REQUIRE_ALL_TOOLCHAINS.
func TestExamplesEveryLanguage(t *testing.T) {
	for _, tc := range []struct {
		lang, dir, name string
		lib             string // the file name of the library its build writes
		build           func(t *testing.T, dir, lib string) string
	}{
		// `make examples` builds the C example; cbuild compiles it with the
		// same flags (and keeps the source's stem: hello.so).
		{"c", "examples/c/hello", "hello", cbuild.LibName("hello"), func(t *testing.T, dir, _ string) string {
			return cbuild.Library(t, dir+"/hello.c")
		}},
		{"cpp", "examples/cpp/hello", "hello-cpp", cbuild.LibName("hello_cpp"), func(t *testing.T, dir, lib string) string {
			cbuild.RequireTool(t, cbuild.CXX())
			return cbuild.Make(t, dir, lib)
		}},
		{"rust", "examples/rust/hello", "hello-rust", cbuild.LibName("hello_rust"), func(t *testing.T, dir, _ string) string {
			return cbuild.Cargo(t, dir, "hello_rust")
		}},
		{"zig", "examples/zig/hello", "hello-zig", cbuild.LibName("hello_zig"), func(t *testing.T, dir, lib string) string {
			cbuild.RequireZig(t)
			return cbuild.Make(t, dir, lib)
		}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			t.Parallel()
			lib := tc.build(t, tc.dir, tc.lib)
			checkManifest(t, tc.dir, tc.name, tc.lib)
			playSession(t, lib, tc.name)
		})
	}
}

// checkManifest asserts that the example's manifest is valid, names the
// plugin and version the library reports, asks for network.relay (the
// event needs it) and points at the file its build writes.
func checkManifest(t *testing.T, dir, name, libFile string) {
	t.Helper()
	root, err := cbuild.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.LoadDir(filepath.Join(root, dir))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != name || m.Version != "1.0.0" {
		t.Errorf("manifest says %s %s, want %s 1.0.0", m.Name, m.Version, name)
	}
	if !slices.Contains(m.Capabilities, abi.CapNetworkRelay) {
		t.Errorf("manifest capabilities %v lack %s", m.Capabilities, abi.CapNetworkRelay)
	}
	if filepath.Base(m.Entry) != libFile {
		t.Errorf("manifest entry %q, but the build writes %s", m.Entry, libFile)
	}
}
