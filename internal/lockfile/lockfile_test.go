package lockfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/archive"
	"github.com/clawd-go/clawd/internal/lockfile"
)

func TestRoundTripAndCheck(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, lockfile.Name)
	l, err := lockfile.Read(p)
	require.NoError(t, err, "a missing lock file is an empty lock")
	require.Empty(t, l.Plugins)

	dir := filepath.Join(root, "echo")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a"), []byte("a"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "b"), []byte("b"), 0o644))
	tree, err := archive.ReadTree(dir, 0)
	require.NoError(t, err)
	l.Plugins["echo"] = &lockfile.Entry{Name: "echo", Version: "1.0.0", Files: tree, ContentSHA256: tree.Hash(), Capabilities: []string{"fs.read"}}
	l.Indexes["ed25519:00"] = lockfile.IndexState{Serial: 3}
	require.NoError(t, lockfile.Write(p, l))
	ents, _ := os.ReadDir(root)
	require.Len(t, ents, 2, "no temporary file left beside the lock")

	got, err := lockfile.Read(p)
	require.NoError(t, err)
	require.Equal(t, uint64(3), got.Indexes["ed25519:00"].Serial)
	e := got.Plugins["echo"]
	require.NoError(t, e.Check(dir))

	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "b"), []byte("B"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "c"), []byte("c"), 0o644))
	require.NoError(t, os.Remove(filepath.Join(dir, "a")))
	err = e.Check(dir)
	require.Equal(t, clawerr.ChecksumMismatch, clawerr.CodeOf(err))
	require.Contains(t, err.Error(), "missing: a, added: c, changed: sub/b")

	require.NoError(t, os.Remove(filepath.Join(dir, "c")))
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "a")))
	err = e.Check(dir)
	require.Equal(t, clawerr.ChecksumMismatch, clawerr.CodeOf(err))
	require.Contains(t, err.Error(), "a: not a regular file")
}

func TestReadRefuses(t *testing.T) {
	root := t.TempDir()
	for content, msg := range map[string]string{
		"{":            "not a lock file",
		`{"schema":2}`: "schema 2",
		`{"schema":1,"plugins":{"a":{"name":"b"}}}`: `entry "a" does not name itself`,
	} {
		p := filepath.Join(root, "clawd.lock")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		_, err := lockfile.Read(p)
		require.Equal(t, clawerr.ManifestInvalid, clawerr.CodeOf(err), content)
		require.Contains(t, err.Error(), msg)
	}
}

func TestReadRefusesPathNames(t *testing.T) {
	p := filepath.Join(t.TempDir(), "clawd.lock")
	for _, n := range []string{"../../etc", "a/b", ".clawd", "clawd.lock"} {
		require.NoError(t, os.WriteFile(p, []byte(`{"schema":1,"plugins":{"`+n+`":{"name":"`+n+`"}}}`), 0o644))
		_, err := lockfile.Read(p)
		require.Equal(t, clawerr.ManifestInvalid, clawerr.CodeOf(err), n)
	}
}

func TestReadRefusesAFIFOWithoutBlocking(t *testing.T) {
	p := filepath.Join(t.TempDir(), "clawd.lock")
	if err := mkfifo(p); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	_, err := lockfile.Read(p)
	require.ErrorContains(t, err, "not a regular file")
}
