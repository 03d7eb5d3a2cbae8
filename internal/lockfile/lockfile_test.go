package lockfile_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
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

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"echo", "a", "hello-world_2+x.v1", "CONSOLE", "nul-x", "com10", "lpt", strings.Repeat("a", lockfile.MaxNameLen)} {
		require.NoError(t, lockfile.CheckName(ok), ok)
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b", `a\b`, "/abs", "C:x", "CON", "con", "Con.txt", "nul.tar.gz", "AUX", "PRN.x",
		"COM1", "com9.log", "LPT0", "x.", "x ", ".hidden", "a\x00b", "a\nb", "a\x7f", "é", "a b", "clawd.lock", "CLAWD.LOCK", strings.Repeat("a", lockfile.MaxNameLen+1)} {
		err := lockfile.CheckName(bad)
		require.Equal(t, clawerr.BadName, clawerr.CodeOf(err), "%q: %v", bad, err)
		require.Contains(t, err.Error(), "a plugin name is 1 to 128 letters")
	}
	// A lock file naming a plugin by a path is refused whole.
	for _, n := range []string{"../x", "CON", "a/b"} {
		q, _ := json.Marshal(n)
		_, err := lockfile.Parse([]byte(`{"schema":1,"plugins":{`+string(q)+`:{"name":`+string(q)+`}}}`), "x.lock")
		require.Equal(t, clawerr.ManifestInvalid, clawerr.CodeOf(err), "%q: %v", n, err)
	}
}

// A lock file that is a link is not read through beneath a root.
func TestReadRootRefusesALink(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(outside, []byte(`{"schema":1}`), 0o644))
	if err := os.Symlink(outside, filepath.Join(dir, lockfile.Name)); err != nil {
		t.Skipf("no symlink here: %v", err)
	}
	r, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer r.Close()
	_, err = lockfile.ReadRoot(r, lockfile.Name)
	require.Equal(t, clawerr.ManifestInvalid, clawerr.CodeOf(err), "%v", err)
	require.Contains(t, err.Error(), "not a regular file")
}
