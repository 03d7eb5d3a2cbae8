package host_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/archive"
	"github.com/clawd-go/clawd/internal/lockfile"
	"github.com/clawd-go/clawd/manifest"
)

// lockPlugin records dir in root/clawd.lock as the installer would,
// granting caps.
func lockPlugin(t *testing.T, root, dir, name, version string, caps ...string) string {
	tree, err := archive.ReadTree(dir, 0)
	require.NoError(t, err)
	l := lockfile.New()
	l.Plugins[name] = &lockfile.Entry{Name: name, Version: version, Runtime: "dylib", ContentSHA256: tree.Hash(), Files: tree, Capabilities: caps}
	p := filepath.Join(root, lockfile.Name)
	require.NoError(t, lockfile.Write(p, l))
	return p
}

func TestLockFileTrust(t *testing.T) {
	root := t.TempDir()
	dir := plugin(t, root, "echo", "1.0.0", echo(t, "echo", "1.0.0"), "network.relay", "fs.read")
	other := plugin(t, root, "other", "1.0.0", echo(t, "other", "1.0.0"))
	lock := lockPlugin(t, root, dir, "echo", "1.0.0", "network.relay")
	// Signatures required: the locked plugin loads through its lock entry,
	// the plugin the lock does not name is verified as always (unsigned).
	r := newRig(t, host.WithPluginDirs(root), host.WithLockFile(lock), host.WithTrust(manifest.Trust{Policy: manifest.PolicyRequire}))
	r.h.Load(bg)
	info, ok := r.h.Plugin("echo")
	require.True(t, ok)
	require.Equal(t, host.StatusActive, info.State, "%v", info.Reason)
	require.True(t, info.Signed)
	require.Equal(t, []abi.Capability{abi.CapNetworkRelay}, info.Granted)
	require.Equal(t, []abi.Capability{abi.CapFSRead}, info.Refused, "no more than the lock grants")
	oi, _ := r.h.Plugin("other")
	require.Equal(t, clawerr.Unsigned, clawerr.CodeOf(oi.Reason), filepath.Base(other))
	require.NoError(t, r.h.Close())

	// One byte of the library changed: refused, naming the file.
	lib := filepath.Join(dir, libName("echo"))
	data, err := os.ReadFile(lib)
	require.NoError(t, err)
	data[len(data)-1] ^= 0xff
	require.NoError(t, os.WriteFile(lib, data, 0o644))
	r = newRig(t, host.WithPluginDirs(root), host.WithLockFile(lock))
	r.h.Load(bg)
	info, _ = r.h.Plugin("echo")
	require.Equal(t, host.StatusFailed, info.State)
	require.Equal(t, clawerr.ChecksumMismatch, clawerr.CodeOf(info.Reason))
	require.Contains(t, info.Reason.Error(), "changed: "+libName("echo"))
	require.NoError(t, r.h.Close())

	// The library restored, a file added beside it: refused too.
	data[len(data)-1] ^= 0xff
	require.NoError(t, os.WriteFile(lib, data, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "extra.so"), []byte("x"), 0o644))
	r = newRig(t, host.WithPluginDirs(root), host.WithLockFile(lock))
	r.h.Load(bg)
	info, _ = r.h.Plugin("echo")
	require.Equal(t, clawerr.ChecksumMismatch, clawerr.CodeOf(info.Reason))
	require.Contains(t, info.Reason.Error(), "added: extra.so")
}

// The installer moves a plugin into place, then writes the lock file: a
// watching host that looked in between sees files the lock does not
// record yet, and looks again when the lock file is written.
func TestWatchedLockFileChangeReloads(t *testing.T) {
	root := t.TempDir()
	dir := plugin(t, root, "echo", "1.0.0", echo(t, "echo", "1.0.0"), "network.relay")
	lock := lockPlugin(t, root, dir, "echo", "1.0.0", "network.relay")
	// The lock records other bytes for the library.
	l, err := lockfile.Read(lock)
	require.NoError(t, err)
	good := l.Plugins["echo"]
	bad := *good
	bad.Files = archive.Tree{}
	for k, v := range good.Files {
		bad.Files[k] = v
	}
	bad.Files[libName("echo")] = "00"
	bad.ContentSHA256 = bad.Files.Hash()
	l.Plugins["echo"] = &bad
	require.NoError(t, lockfile.Write(lock, l))

	r := newRig(t, host.WithPluginDirs(root), host.WithLockFile(lock), host.WithWatch(true), host.WithDebounce(20*time.Millisecond))
	r.h.Load(bg)
	require.Equal(t, clawerr.ChecksumMismatch, clawerr.CodeOf(info(t, r.h, "echo").Reason))
	l.Plugins["echo"] = good
	require.NoError(t, lockfile.Write(lock, l)) // only the lock file changes
	for info(t, r.h, "echo").State != host.StatusActive {
		r.nextOf(t, "echo")
	}
}

// A lock file that is a link is refused, never followed: one pointing at a
// lock elsewhere would lend its grants, and a dangling one would make the
// plugins load as if nothing were locked.
func TestLockFileThatIsALinkIsRefused(t *testing.T) {
	for _, dangling := range []bool{false, true} {
		root := t.TempDir()
		dir := plugin(t, root, "echo", "1.0.0", echo(t, "echo", "1.0.0"), "network.relay")
		elsewhere := t.TempDir()
		real := lockPlugin(t, elsewhere, dir, "echo", "1.0.0", "network.relay")
		if dangling {
			require.NoError(t, os.Remove(real))
		}
		lock := filepath.Join(root, lockfile.Name)
		if err := os.Symlink(real, lock); err != nil {
			if runtime.GOOS == "windows" {
				t.Skipf("symlinks need a privilege on Windows: %v", err)
			}
			require.NoError(t, err)
		}
		r := newRig(t, host.WithPluginDirs(root), host.WithLockFile(lock))
		r.h.Load(bg)
		got := info(t, r.h, "echo")
		require.Equal(t, host.StatusFailed, got.State, "dangling %v", dangling)
		require.Equal(t, clawerr.ChecksumMismatch, clawerr.CodeOf(got.Reason), "dangling %v: %v", dangling, got.Reason)
		require.Contains(t, got.Reason.Error(), "not a regular file")
		require.NoError(t, r.h.Close())
	}
}
