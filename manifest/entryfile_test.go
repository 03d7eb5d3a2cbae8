package manifest_test

import (
	"crypto/ed25519"
	"github.com/clawd-go/clawd/internal/sigkey"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/libfile/libfiletest"
	"github.com/clawd-go/clawd/loader"
	"github.com/clawd-go/clawd/manifest"
)

var entry = "libecho" + cbuild.LibExt

// refusedEntry runs Verify under policy off and asserts the code, the
// message fragment, and that no copy was left behind.
func refusedEntry(t *testing.T, trust manifest.Trust, dir string, code clawerr.Code, want string) {
	t.Helper()
	copies := t.TempDir()
	v, err := trust.Verify(load(t, dir), copies)
	assert.Nil(t, v)
	ce := clawErr(t, err, code)
	assert.Equal(t, "echo", ce.Plugin)
	assert.Equal(t, "verify", ce.Op)
	assert.Contains(t, ce.Detail, want)
	left, err := os.ReadDir(copies)
	require.NoError(t, err)
	assert.Empty(t, left, "a refused entry leaves no copy")
}

var off = manifest.Trust{Policy: manifest.PolicyOff}

func TestVerifyRefusesTruncatedEntry(t *testing.T) {
	dir, _ := echoDir(t, "")
	n := libfiletest.Truncated(t, cbuild.Plugin(t, "echo"), filepath.Join(dir, entry))
	refusedEntry(t, off, dir, clawerr.OpenFailed, entry+": ")
	refusedEntry(t, off, dir, clawerr.OpenFailed, "ends past the end of the file (")
	refusedEntry(t, off, dir, clawerr.OpenFailed, "bytes): the file is truncated or malformed")
	assert.Positive(t, n)
}

func TestVerifyRefusesNotALibrary(t *testing.T) {
	dir, _ := echoDir(t, "")
	require.NoError(t, os.WriteFile(filepath.Join(dir, entry), []byte("\x00asm\x01\x00\x00\x00"), 0o644))
	refusedEntry(t, off, dir, clawerr.OpenFailed, entry+": a WebAssembly module, not a native shared library")
	require.NoError(t, os.WriteFile(filepath.Join(dir, entry), []byte{0x13, 0x37, 0x00, 0xff, 0x42}, 0o644))
	refusedEntry(t, off, dir, clawerr.OpenFailed, entry+": not a shared library: no ELF, Mach-O or PE header (starts with 13 37 00 ff 42)")
}

func TestVerifySizeLimit(t *testing.T) {
	dir, lib := echoDir(t, "")
	require.NoError(t, os.Truncate(filepath.Join(dir, entry), 257<<20)) // sparse
	refusedEntry(t, off, dir, clawerr.OpenFailed, entry+": 257 MiB, over the size limit of 256 MiB")

	dir, _ = echoDir(t, "")
	small := manifest.Trust{Policy: manifest.PolicyOff, MaxEntrySize: 4096}
	refusedEntry(t, small, dir, clawerr.OpenFailed, "over the size limit of 4096 bytes")
	small.MaxEntrySize = int64(len(lib))
	_, err := small.Verify(load(t, dir), t.TempDir())
	require.NoError(t, err, "a limit equal to the size accepts")
	small.MaxEntrySize = -1
	refusedEntry(t, small, dir, clawerr.OpenFailed, "size limit -1 is negative")
}

// Hashing, verifying and copying stream: a signed 64 MiB entry is verified
// with a few MiB of allocation, not its size.
func TestVerifyStreams(t *testing.T) {
	pub, priv := newKey(t)
	dir, lib := echoDir(t, "")
	big := append(lib, make([]byte, 64<<20)...) // trailing bytes past every segment
	require.NoError(t, os.WriteFile(filepath.Join(dir, entry), big, 0o755))
	writeTOML(t, dir, "signature = \""+sigkey.Sign(priv, big)+"\"\nsha256 = \""+hexSum(big)+"\"\n")
	m := load(t, dir)
	big = nil

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v, err := manifest.Trust{Keys: []ed25519.PublicKey{pub}, Policy: manifest.PolicyRequire}.Verify(m, t.TempDir())
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.True(t, v.Signed)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("Verify of a %d MiB entry allocated %d KiB", (len(lib)+64<<20)>>20, alloc>>10)
	assert.Less(t, alloc, uint64(4<<20))
	st, err := os.Stat(v.Path)
	require.NoError(t, err)
	assert.Equal(t, int64(len(lib)+64<<20), st.Size())
}

func TestVerifyEntrySymlinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	// Inside the plugin directory: followed, verified, opened.
	dir, lib := echoDir(t, "")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "build"), 0o755))
	require.NoError(t, os.Rename(filepath.Join(dir, entry), filepath.Join(dir, "build", entry)))
	require.NoError(t, os.Symlink(filepath.Join("build", entry), filepath.Join(dir, entry)))
	v, err := off.Verify(load(t, dir), t.TempDir())
	require.NoError(t, err)
	got, err := os.ReadFile(v.Path)
	require.NoError(t, err)
	assert.Equal(t, lib, got)
	p, err := loader.Open(v.Path)
	require.NoError(t, err)
	require.NoError(t, p.Close())

	// Outside: refused as the manifest's entry leaving its directory.
	dir, _ = echoDir(t, "")
	outside := filepath.Join(t.TempDir(), entry)
	require.NoError(t, os.Rename(filepath.Join(dir, entry), outside))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, entry)))
	real, err := filepath.EvalSymlinks(outside)
	require.NoError(t, err)
	refusedEntry(t, off, dir, clawerr.ManifestInvalid, entry+": resolves to "+real+", outside the plugin directory")

	require.NoError(t, os.Remove(filepath.Join(dir, entry)))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, entry)))
	refusedEntry(t, off, dir, clawerr.ManifestInvalid, entry+": resolves to /dev/zero, outside the plugin directory")
}
