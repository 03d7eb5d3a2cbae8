package archive_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/archive"
)

func TestWriteIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "sub", "b")
	require.NoError(t, os.MkdirAll(filepath.Dir(b), 0o700))
	require.NoError(t, os.WriteFile(a, []byte("aaa"), 0o600))
	require.NoError(t, os.WriteFile(b, []byte("bbb"), 0o755))
	var one, two bytes.Buffer
	require.NoError(t, archive.Write(&one, []archive.File{{Name: "sub/b", Path: b}, {Name: "a", Path: a}}))
	// Other times, other order: same bytes.
	require.NoError(t, os.Chtimes(a, time.Now(), time.Unix(12345, 0)))
	require.NoError(t, archive.Write(&two, []archive.File{{Name: "a", Path: a}, {Name: "sub/b", Path: b}}))
	require.Equal(t, one.Bytes(), two.Bytes())

	gz, err := gzip.NewReader(bytes.NewReader(one.Bytes()))
	require.NoError(t, err)
	require.Empty(t, gz.Name)
	require.True(t, gz.ModTime.IsZero())
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
		require.Equal(t, int64(0o644), h.Mode)
		require.Equal(t, 0, h.Uid)
		require.Equal(t, int64(0), h.ModTime.Unix())
	}
	require.Equal(t, []string{"a", "sub/b"}, names)

	out := t.TempDir()
	got, err := archive.Extract(bytes.NewReader(one.Bytes()), out, archive.Limits{})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "sub/b"}, got)
	tree, err := archive.ReadTree(out, 0)
	require.NoError(t, err)
	require.Len(t, tree, 2)
	require.NoError(t, os.WriteFile(filepath.Join(out, "a"), []byte("aab"), 0o644))
	tree2, _ := archive.ReadTree(out, 0)
	require.NotEqual(t, tree.Hash(), tree2.Hash())
	require.Equal(t, []string{"changed: a"}, archive.Diff(tree, tree2))
}

func TestWriteRefusesSymlinks(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "l")))
	require.Error(t, archive.Write(io.Discard, []archive.File{{Name: "l", Path: filepath.Join(dir, "l")}}))
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"a", "a/b", "lib/libx.so", "a..b"} {
		require.NoError(t, archive.CheckName(ok), ok)
	}
	for _, bad := range []string{"", ".", "/a", "../a", "a/../../b", "a/..", "a\\b", "C:x", "a//b", "./a", "a/", "a\x00b"} {
		err := archive.CheckName(bad)
		require.Equal(t, clawerr.UnsafeArchive, clawerr.CodeOf(err), "%q", bad)
	}
}

func TestExtractRefusesGarbage(t *testing.T) {
	_, err := archive.Extract(bytes.NewReader([]byte("not gzip")), t.TempDir(), archive.Limits{})
	require.Equal(t, clawerr.UnsafeArchive, clawerr.CodeOf(err))
}
