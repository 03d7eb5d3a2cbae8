//go:build unix

package manifest_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/manifest"
)

// A FIFO in place of the entry is refused at once. Nobody opens its
// other end, so a Verify that blocks on it hangs until the test binary's
// -timeout, which names this test.
func TestVerifyRefusesFIFOEntry(t *testing.T) {
	dir, _ := echoDir(t, "")
	require.NoError(t, os.Remove(filepath.Join(dir, entry)))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, entry), 0o644))
	_, err := off.Verify(load(t, dir), t.TempDir())
	require.Equal(t, clawerr.OpenFailed, clawerr.CodeOf(err), "%v", err)
	refusedEntry(t, off, dir, clawerr.OpenFailed, entry+": a FIFO (named pipe), not a regular file")
}

// Load given a FIFO as the manifest returns at once; one that blocks on it
// hangs until the test binary's -timeout.
func TestLoadRefusesFIFOManifest(t *testing.T) {
	p := filepath.Join(t.TempDir(), "plugin.toml")
	require.NoError(t, syscall.Mkfifo(p, 0o644))
	_, err := manifest.Load(p)
	ce := clawErr(t, err, clawerr.ManifestInvalid)
	require.Equal(t, "plugin.toml: cannot read", ce.Detail)
	require.ErrorContains(t, err, "not a regular file")
}
