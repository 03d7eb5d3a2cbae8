//go:build unix

package manifest_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/manifest"
)

// A FIFO in place of the entry is refused at once; the test fails instead
// of hanging if Verify blocks on it.
func TestVerifyRefusesFIFOEntry(t *testing.T) {
	dir, _ := echoDir(t, "")
	require.NoError(t, os.Remove(filepath.Join(dir, entry)))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, entry), 0o644))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := off.Verify(load(t, dir), t.TempDir())
		if clawerr.CodeOf(err) != clawerr.OpenFailed {
			t.Errorf("code %q, want open_failed: %v", clawerr.CodeOf(err), err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Verify blocked on a FIFO entry")
	}
	refusedEntry(t, off, dir, clawerr.OpenFailed, entry+": a FIFO (named pipe), not a regular file")
}

// Load given a FIFO as the manifest returns at once.
func TestLoadRefusesFIFOManifest(t *testing.T) {
	p := filepath.Join(t.TempDir(), "plugin.toml")
	require.NoError(t, syscall.Mkfifo(p, 0o644))
	done := make(chan error, 1)
	go func() {
		_, err := manifest.Load(p)
		done <- err
	}()
	select {
	case err := <-done:
		ce := clawErr(t, err, clawerr.ManifestInvalid)
		require.Equal(t, "plugin.toml: cannot read", ce.Detail)
		require.ErrorContains(t, err, "not a regular file")
	case <-time.After(10 * time.Second):
		t.Fatal("Load blocked on a FIFO manifest")
	}
}
