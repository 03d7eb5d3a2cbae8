//go:build unix

package libfile_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/libfile"
)

// Nobody opens the FIFO's other end: a check that blocks on it hangs until
// the test binary's -timeout, which names this test.
func TestOpenRefusesAFIFOWithoutBlocking(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lib"+cbuild.LibExt)
	require.NoError(t, syscall.Mkfifo(p, 0o644))
	err := libfile.Check(p, opts)
	refused(t, err, clawerr.OpenFailed, "lib"+cbuild.LibExt+": a FIFO (named pipe), not a regular file")
}

func TestOpenRefusesADevice(t *testing.T) {
	err := libfile.Check("/dev/zero", opts)
	refused(t, err, clawerr.OpenFailed, "zero: a character device, not a regular file")
}

func TestOpenRefusesASocket(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.so")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	defer syscall.Close(fd)
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrUnix{Name: p}))
	refused(t, libfile.Check(p, opts), clawerr.OpenFailed, "s.so: a socket, not a regular file")
}

// Symlinks are followed, but with Dir set the file they reach must be
// inside the plugin directory.
func TestOpenSymlinks(t *testing.T) {
	so := cbuild.Plugin(t, "minimal")
	root := t.TempDir()
	dir := filepath.Join(root, "plugin")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "lib"), 0o755))
	data, err := os.ReadFile(so)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib", "real"+cbuild.LibExt), data, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "outside"+cbuild.LibExt), data, 0o755))

	in := filepath.Join(dir, "in"+cbuild.LibExt)
	require.NoError(t, os.Symlink(filepath.Join("lib", "real"+cbuild.LibExt), in))
	out := filepath.Join(dir, "out"+cbuild.LibExt)
	require.NoError(t, os.Symlink(filepath.Join("..", "outside"+cbuild.LibExt), out))
	dev := filepath.Join(dir, "dev"+cbuild.LibExt)
	require.NoError(t, os.Symlink("/dev/zero", dev))

	o := opts
	o.Dir = dir
	assert.NoError(t, libfile.Check(in, o), "a symlink inside the plugin directory")
	refused(t, libfile.Check(out, o), clawerr.ManifestInvalid,
		"out"+cbuild.LibExt+": resolves to "+filepath.Join(root, "outside"+cbuild.LibExt)+", outside the plugin directory "+dir)
	refused(t, libfile.Check(dev, o), clawerr.ManifestInvalid, "dev"+cbuild.LibExt+": resolves to /dev/zero, outside the plugin directory")
	// Without a directory, a bare path may point anywhere (but not at a device).
	assert.NoError(t, libfile.Check(out, opts))
	refused(t, libfile.Check(dev, opts), clawerr.OpenFailed, "dev"+cbuild.LibExt+": a character device, not a regular file")

	// The plugin directory itself reached through a symlink.
	alias := filepath.Join(root, "alias")
	require.NoError(t, os.Symlink(dir, alias))
	o.Dir = alias
	assert.NoError(t, libfile.Check(filepath.Join(alias, "in"+cbuild.LibExt), o))
	refused(t, libfile.Check(filepath.Join(alias, "out"+cbuild.LibExt), o), clawerr.ManifestInvalid, "outside the plugin directory")

	loop := filepath.Join(dir, "loop.so")
	require.NoError(t, os.Symlink("loop.so", loop))
	refused(t, libfile.Check(loop, o), clawerr.OpenFailed, "loop.so: cannot open")
}
