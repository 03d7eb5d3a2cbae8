package libfile_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/libfile"
	"github.com/clawd-go/clawd/internal/libfile/libfiletest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

// refused asserts err is a *clawerr.Error with code, Plugin and Op from
// the options, and a detail holding want.
func refused(t *testing.T, err error, code clawerr.Code, want string) {
	t.Helper()
	require.Error(t, err)
	assert.Equal(t, code, clawerr.CodeOf(err), "%v", err)
	var ce *clawerr.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "p", ce.Plugin)
	assert.Equal(t, "load", ce.Op)
	assert.Contains(t, ce.Detail, want)
}

var opts = libfile.Options{Plugin: "p", Op: "load"}

func withLimit(n int64) libfile.Options { o := opts; o.MaxSize = n; return o }

func TestCheckAcceptsARealPlugin(t *testing.T) {
	assert.NoError(t, libfile.Check(cbuild.Plugin(t, "minimal"), opts))
}

func TestCheckRefusesTruncatedPlugin(t *testing.T) {
	so := cbuild.Plugin(t, "minimal")
	cut := filepath.Join(t.TempDir(), "cut"+cbuild.LibExt)
	n := libfiletest.Truncated(t, so, cut)
	refused(t, libfile.Check(cut, opts), clawerr.OpenFailed, "cut"+cbuild.LibExt+": ")
	refused(t, libfile.Check(cut, opts), clawerr.OpenFailed,
		fmt.Sprintf("ends past the end of the file (%d bytes): the file is truncated or malformed", n))
}

func TestCheckRefusesRandomBytes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "random"+cbuild.LibExt)
	require.NoError(t, os.WriteFile(p, bytes.Repeat([]byte{0x42, 0x17, 0xee}, 1000), 0o755))
	refused(t, libfile.Check(p, opts), clawerr.OpenFailed, "random"+cbuild.LibExt+": not a shared library: no ELF, Mach-O or PE header (starts with 42 17 ee")
}

func TestCheckRefusesWASM(t *testing.T) {
	p := filepath.Join(t.TempDir(), "plugin.wasm")
	require.NoError(t, os.WriteFile(p, []byte("\x00asm\x01\x00\x00\x00"), 0o644))
	refused(t, libfile.Check(p, opts), clawerr.OpenFailed, "plugin.wasm: a WebAssembly module, not a native shared library")
}

func TestOpenRefusesADirectory(t *testing.T) {
	d := filepath.Join(t.TempDir(), "lib"+cbuild.LibExt)
	require.NoError(t, os.Mkdir(d, 0o755))
	refused(t, libfile.Check(d, opts), clawerr.OpenFailed, "lib"+cbuild.LibExt+": a directory, not a regular file")
}

func TestOpenMissing(t *testing.T) {
	err := libfile.Check(filepath.Join(t.TempDir(), "nothing.so"), opts)
	refused(t, err, clawerr.OpenFailed, "nothing.so: cannot open")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestOpenSizeLimit(t *testing.T) {
	// Sparse: 1 byte over the default limit, nothing written.
	big := filepath.Join(t.TempDir(), "big"+cbuild.LibExt)
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(libfile.DefaultMaxSize+1))
	require.NoError(t, f.Close())
	refused(t, libfile.Check(big, opts), clawerr.OpenFailed, "big"+cbuild.LibExt+": 256.0 MiB (268435457 bytes), over the size limit of 256 MiB")

	so := cbuild.Plugin(t, "minimal")
	st, err := os.Stat(so)
	require.NoError(t, err)
	refused(t, libfile.Check(so, withLimit(1024)), clawerr.OpenFailed, "bytes, over the size limit of 1024 bytes")
	assert.NoError(t, libfile.Check(so, withLimit(st.Size())), "a limit equal to the size accepts")
	refused(t, libfile.Check(so, withLimit(-1)), clawerr.OpenFailed, "size limit -1 is negative (0 means the default, 256 MiB)")
}

func TestCopyTo(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lib.so")
	data := bytes.Repeat([]byte("0123456789"), 10000)
	require.NoError(t, os.WriteFile(p, data, 0o644))

	f, err := libfile.Open(p, opts)
	require.NoError(t, err)
	var got bytes.Buffer
	require.NoError(t, f.CopyTo(&got))
	assert.Equal(t, data, got.Bytes())
	assert.Equal(t, int64(len(data)), f.Size())
	require.NoError(t, f.Close())

	// Changed between Open and CopyTo: the bytes copied are not the file.
	f, err = libfile.Open(p, opts)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, append(data, 'x'), 0o644))
	refused(t, f.CopyTo(&bytes.Buffer{}), clawerr.OpenFailed, "lib.so: grew while being read (past 100000 bytes)")
	require.NoError(t, f.Close())

	f, err = libfile.Open(p, opts)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(p, 10))
	refused(t, f.CopyTo(&bytes.Buffer{}), clawerr.OpenFailed, "lib.so: shrank while being read (10 of 100001 bytes)")
	require.NoError(t, f.Close())
}

func TestName(t *testing.T) {
	d := t.TempDir()
	o := opts
	o.Name = "entry.so"
	refused(t, libfile.Check(d, o), clawerr.OpenFailed, "entry.so: a directory, not a regular file")
}
