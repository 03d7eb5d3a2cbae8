package conformance

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
)

// zigDLL builds src as a Windows DLL with Zig, whatever this OS is.
func zigDLL(t *testing.T, src string) string {
	t.Helper()
	cbuild.RequireCross(t, "windows")
	zig := cbuild.RequireZig(t)
	root, err := cbuild.RepoRoot()
	require.NoError(t, err)
	dir := t.TempDir()
	out := filepath.Join(dir, "p.dll")
	_, err = cbuild.Run(dir, []string{"ZIG_LOCAL_CACHE_DIR=" + filepath.Join(dir, "zig-cache")},
		append(zig, "cc", "-target", "x86_64-windows-gnu", "-shared", "-O2", "-I"+filepath.Join(root, "include"), "-o", out, src)...)
	require.NoError(t, err)
	return out
}

func TestPESymbols(t *testing.T) {
	root, err := cbuild.RepoRoot()
	require.NoError(t, err)
	syms, err := librarySymbols(zigDLL(t, filepath.Join(root, "testplugins", "minimal.c")))
	require.NoError(t, err)
	assert.Equal(t, []symbol{{name: "clawd_plugin_init", function: true, exported: true}}, syms)

	extra := filepath.Join(t.TempDir(), "extra.c")
	require.NoError(t, os.WriteFile(extra, []byte(`#include "clawd_plugin.h"
__declspec(dllexport) int extra_function(void) { return 1; }
__declspec(dllexport) int extra_data = 3;
CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return 0; }
`), 0o644))
	syms, err = librarySymbols(zigDLL(t, extra))
	require.NoError(t, err)
	assert.ElementsMatch(t, []symbol{
		{name: "clawd_plugin_init", function: true, exported: true},
		{name: "extra_function", function: true, exported: true},
		{name: "extra_data", function: false, exported: true},
	}, syms)
}

// A DLL cut short, or with its export table pointing past its data, is an
// error, never a panic or an allocation of what it claims.
func TestPESymbolsHostile(t *testing.T) {
	root, err := cbuild.RepoRoot()
	require.NoError(t, err)
	data, err := os.ReadFile(zigDLL(t, filepath.Join(root, "testplugins", "minimal.c")))
	require.NoError(t, err)
	dir := t.TempDir()
	for _, cut := range []int{2, 64, 512, len(data) / 2, len(data) - 16} {
		p := filepath.Join(dir, "cut.dll")
		require.NoError(t, os.WriteFile(p, data[:cut], 0o644))
		assert.NotPanics(t, func() { _, _ = peSymbols(p) }, "cut at %d", cut)
	}
	// Every 4-byte word set to 0xffffffff in turn over the headers and the
	// export table's neighbourhood: errors or a list, no panic.
	for off := 0; off+4 <= min(len(data), 4096); off += 4 {
		b := append([]byte(nil), data...)
		copy(b[off:], []byte{0xff, 0xff, 0xff, 0xff})
		p := filepath.Join(dir, "bad.dll")
		require.NoError(t, os.WriteFile(p, b, 0o644))
		assert.NotPanics(t, func() { _, _ = peSymbols(p) }, "word at %d", off)
	}
}
