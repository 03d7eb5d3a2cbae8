package loader_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/libfile/libfiletest"
	"github.com/clawd-go/clawd/loader"
)

// refusedFile asserts Open refused path with code and a detail holding
// want, naming the path as the plugin.
func refusedFile(t *testing.T, path string, code clawerr.Code, want string, opts ...clawd.Option) {
	t.Helper()
	p, err := loader.Open(path, opts...)
	require.Nil(t, p)
	assertRefused(t, err, path, code, want)
}

func assertRefused(t *testing.T, err error, path string, code clawerr.Code, want string) {
	t.Helper()
	require.Error(t, err)
	assert.Equal(t, code, clawerr.CodeOf(err), "%v", err)
	var ce *clawerr.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, path, ce.Plugin)
	assert.Equal(t, "open", ce.Op)
	assert.Contains(t, ce.Detail, want)
}

// A library cut inside its last loadable segment is refused before dlopen,
// which would map bytes that do not exist and take SIGBUS in this process.
func TestOpenRefusesTruncatedLibrary(t *testing.T) {
	cut := filepath.Join(t.TempDir(), "libcut"+cbuild.LibExt)
	n := libfiletest.Truncated(t, cbuild.Plugin(t, "minimal"), cut)
	refusedFile(t, cut, clawerr.OpenFailed, "ends past the end of the file (")
	refusedFile(t, cut, clawerr.OpenFailed, "bytes): the file is truncated or malformed")
	st, err := os.Stat(cut)
	require.NoError(t, err)
	assert.Equal(t, n, st.Size())
}

func TestOpenRefusesNonLibraries(t *testing.T) {
	dir := t.TempDir()
	random := filepath.Join(dir, "librandom"+cbuild.LibExt)
	require.NoError(t, os.WriteFile(random, []byte{0x93, 0x1f, 0x00, 0x7e, 0x55, 0xaa, 0x10, 0x01, 0xff}, 0o755))
	refusedFile(t, random, clawerr.OpenFailed, "librandom"+cbuild.LibExt+": not a shared library: no ELF, Mach-O or PE header (starts with 93 1f 00 7e 55 aa 10 01)")

	wasm := filepath.Join(dir, "plugin.wasm")
	require.NoError(t, os.WriteFile(wasm, []byte("\x00asm\x01\x00\x00\x00"), 0o644))
	refusedFile(t, wasm, clawerr.OpenFailed, "plugin.wasm: a WebAssembly module, not a native shared library")

	sub := filepath.Join(dir, "libdir"+cbuild.LibExt)
	require.NoError(t, os.Mkdir(sub, 0o755))
	refusedFile(t, sub, clawerr.OpenFailed, "libdir"+cbuild.LibExt+": a directory, not a regular file")
}

func TestOpenSizeLimit(t *testing.T) {
	big := filepath.Join(t.TempDir(), "libbig"+cbuild.LibExt)
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(300<<20)) // sparse: nothing is written
	require.NoError(t, f.Close())
	refusedFile(t, big, clawerr.OpenFailed, "libbig"+cbuild.LibExt+": 300 MiB, over the size limit of 256 MiB")

	so := cbuild.Plugin(t, "minimal")
	refusedFile(t, so, clawerr.OpenFailed, "bytes, over the size limit of 4096 bytes", loader.WithMaxFileSize(4096))
	p, err := loader.Open(so, loader.WithMaxFileSize(64<<20))
	require.NoError(t, err)
	require.NoError(t, p.Close())
}
