package main

import (
	"bytes"
	"debug/pe"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/internal/scaffold"
)

// TestNewBuildsAWindowsDLL: the C, C++ and Zig projects `new` writes
// cross-build their Windows DLL with Zig (`make windows`, the README's
// instruction), at the path plugin.toml names for Windows: an x86-64 DLL
// that exports clawd_plugin_init. (The cross-test harness loads such DLLs
// under Wine; this checks the build file on any OS.)
func TestNewBuildsAWindowsDLL(t *testing.T) {
	cbuild.RequireCross(t, "windows")
	zig := cbuild.RequireZig(t)
	cbuild.RequireTool(t, []string{"make"})
	for _, lang := range []string{"c", "cpp", "zig"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "win-"+lang)
			if _, err := scaffold.Write(lang, "win-"+lang, dir); err != nil {
				t.Fatal(err)
			}
			readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
			if err != nil || !strings.Contains(string(readme), "\n    make windows\n") {
				t.Fatalf("the README does not say how to build for Windows: %v\n%s", err, readme)
			}
			if _, err := cbuild.Run(dir, []string{"ZIG=" + strings.Join(zig, " ")}, "make", "--no-print-directory", "windows"); err != nil {
				t.Fatal(err)
			}
			entry := windowsEntry(t, dir)
			f, err := pe.Open(filepath.Join(dir, filepath.FromSlash(entry)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 || f.Characteristics&pe.IMAGE_FILE_DLL == 0 {
				t.Errorf("%s: machine %#x, characteristics %#x: not an x86-64 DLL", entry, f.Machine, f.Characteristics)
			}
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(entry)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte("\x00clawd_plugin_init\x00")) {
				t.Errorf("%s does not name clawd_plugin_init", entry)
			}
		})
	}
}

// windowsEntry is the entry plugin.toml names for GOOS windows.
func windowsEntry(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, manifestfile.TOMLName))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "windows = "); ok {
			return strings.Trim(rest, `"`)
		}
	}
	t.Fatalf("plugin.toml names no Windows entry:\n%s", data)
	return ""
}
