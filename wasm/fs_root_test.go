package wasm_test

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"

	"github.com/clawd-go/clawd/wasm"
)

// The attacker's fixture: proj is the grant, out a sibling directory with
// a secret. Inside, d is a directory whose entries have the names of
// out's and other contents (so a result tells which side it came from);
// evil is a symlink to out, for swapping with d; and a link of every
// kind that leads out: to a file, to a directory, absolute and relative,
// dangling, and absolute to a file inside (refused too: a root takes no
// absolute links).
type fsFixture struct {
	base, proj, out string
	snap            string // out and base as they were
}

const (
	insideSecret  = "inside"                    // 6 bytes
	outsideSecret = "SECRET-OUTSIDE-0123456789" // 25 bytes
)

func newFSFixture(t testing.TB) *fsFixture {
	t.Helper()
	base := t.TempDir()
	fx := &fsFixture{base: base, proj: filepath.Join(base, "proj"), out: filepath.Join(base, "out")}
	for _, d := range []string{fx.proj, fx.out, filepath.Join(fx.proj, "d"), filepath.Join(fx.proj, "sub")} {
		require.NoError(t, os.Mkdir(d, 0o755))
	}
	files := map[string]string{
		"proj/d/secret.txt":  insideSecret,
		"proj/data.txt":      insideSecret,
		"proj/sub/f":         "f",
		"out/secret.txt":     outsideSecret,
		"out/victim":         "victim",
		"out/target":         "target",
		"out/OUTSIDE_MARKER": "m",
	}
	for p, c := range files {
		require.NoError(t, os.WriteFile(filepath.Join(base, p), []byte(c), 0o644))
	}
	links := map[string]string{
		"proj/d/lnk":         "in-target",
		"out/lnk":            "OUT-target",
		"proj/evil":          fx.out,
		"proj/filelink":      filepath.Join(fx.out, "secret.txt"),
		"proj/dirlink":       fx.out,
		"proj/reldirlink":    filepath.Join("..", "out"),
		"proj/dangling":      filepath.Join(fx.out, "new.txt"),
		"proj/reldangling":   filepath.Join("..", "out", "new.txt"),
		"proj/abslink":       filepath.Join(fx.proj, "data.txt"),
		"proj/inner":         "data.txt",
		"proj/sub/up":        filepath.Join("..", "..", "out"),
		"proj/sub/innerup":   filepath.Join("..", "data.txt"),
		"proj/sub/danglerel": filepath.Join("..", "..", "out", "new.txt"),
	}
	for p, target := range links {
		require.NoError(t, os.Symlink(target, filepath.Join(base, p)))
	}
	fx.snap = fx.snapshot(t)
	return fx
}

// snapshot is what an escape could change: out's entries with their
// kind, mode, contents (or link target) and modification time, and the
// names next to proj and out.
func (fx *fsFixture) snapshot(t testing.TB) string {
	t.Helper()
	var lines []string
	ents, err := os.ReadDir(fx.base)
	require.NoError(t, err)
	for _, e := range ents {
		lines = append(lines, "base:"+e.Name())
	}
	ents, err = os.ReadDir(fx.out)
	require.NoError(t, err)
	for _, e := range ents {
		p := filepath.Join(fx.out, e.Name())
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		var content string
		if fi.Mode()&fs.ModeSymlink != 0 {
			content, err = os.Readlink(p)
		} else if fi.Mode().IsRegular() {
			var b []byte
			b, err = os.ReadFile(p)
			content = string(b)
		}
		require.NoError(t, err)
		lines = append(lines, fmt.Sprintf("out:%s:%v:%q:%d", e.Name(), fi.Mode(), content, fi.ModTime().UnixNano()))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// untouched asserts that nothing outside the grant changed.
func (fx *fsFixture) untouched(t testing.TB) {
	t.Helper()
	assert.Equal(t, fx.snap, fx.snapshot(t), "the directory outside the grant changed")
}

// openRead is what a guest's open, read and close get: the first 64 bytes.
func openRead(fsys experimentalsys.FS, p string) (string, experimentalsys.Errno) {
	f, e := fsys.OpenFile(p, experimentalsys.O_RDONLY, 0)
	if e != 0 {
		return "", e
	}
	defer f.Close()
	buf := make([]byte, 64)
	n, e := f.Read(buf)
	return string(buf[:n]), e
}

func direntNames(t testing.TB, f experimentalsys.File) []string {
	t.Helper()
	ds, e := f.Readdir(100)
	require.Zero(t, e)
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	sort.Strings(names)
	return names
}

func newRootFS(t testing.TB, dir string) experimentalsys.FS {
	t.Helper()
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = root.Close() })
	return wasm.NewRootFS(root)
}

// Every operation, on every way out, without a guest between: refused with
// the errno the guest would see, and nothing outside changes. What stays
// inside works.
func TestRootFSEscapes(t *testing.T) {
	fx := newFSFixture(t)
	fsys := newRootFS(t, fx.proj)
	const (
		EPERM  = experimentalsys.EPERM
		ENOENT = experimentalsys.ENOENT
	)
	// Paths whose resolution leaves the grant: through a link to a
	// directory outside (absolute, relative, relative from below), above
	// the root by "..", and by way of a link that climbs.
	for _, dir := range []string{"dirlink", "reldirlink", "sub/up", "..", "../out", "sub/../..", "/..", "d/../../out"} {
		p := dir + "/secret.txt"
		t.Run(dir, func(t *testing.T) {
			_, e := openRead(fsys, p)
			assert.Equal(t, EPERM, e, "open")
			_, e = fsys.OpenFile(p, experimentalsys.O_RDWR|experimentalsys.O_CREAT|experimentalsys.O_TRUNC, 0o644)
			assert.Equal(t, EPERM, e, "open for writing")
			_, e = fsys.OpenFile(dir+"/new.txt", experimentalsys.O_WRONLY|experimentalsys.O_CREAT|experimentalsys.O_EXCL, 0o644)
			assert.Equal(t, EPERM, e, "create")
			_, e = fsys.OpenFile(dir, experimentalsys.O_RDONLY|experimentalsys.O_DIRECTORY, 0)
			assert.Equal(t, EPERM, e, "open the directory")
			_, e = fsys.Stat(p)
			assert.Equal(t, EPERM, e, "stat")
			_, e = fsys.Lstat(p)
			assert.Equal(t, EPERM, e, "lstat")
			_, e = fsys.Readlink(dir + "/lnk")
			assert.Equal(t, EPERM, e, "readlink")
			assert.Equal(t, EPERM, fsys.Mkdir(dir+"/made", 0o755), "mkdir")
			assert.Equal(t, EPERM, fsys.Rmdir(dir+"/sub"), "rmdir")
			assert.Equal(t, EPERM, fsys.Unlink(dir+"/victim"), "unlink")
			assert.Equal(t, EPERM, fsys.Rename(dir+"/target", "moved"), "rename out of it")
			assert.Equal(t, EPERM, fsys.Rename("sub/f", dir+"/planted"), "rename into it")
			assert.Equal(t, EPERM, fsys.Link(p, "stolen"), "link out of it")
			assert.Equal(t, EPERM, fsys.Link("sub/f", dir+"/planted"), "link into it")
			assert.Equal(t, EPERM, fsys.Utimens(p, 0, 0), "utimens")
			assert.Equal(t, EPERM, fsys.Chmod(p, 0o600), "chmod")
			assert.Equal(t, EPERM, fsys.Symlink("secret.txt", dir+"/made-link"), "symlink")
		})
	}
	// A link as the last component that leads out: what follows it is
	// refused; what acts on the link itself (an entry of the grant) is
	// not a way out.
	for _, l := range []string{"filelink", "dangling", "reldangling", "sub/danglerel", "abslink", "dirlink"} {
		t.Run(l, func(t *testing.T) {
			_, e := openRead(fsys, l)
			assert.Equal(t, EPERM, e, "open")
			_, e = fsys.OpenFile(l, experimentalsys.O_WRONLY|experimentalsys.O_CREAT|experimentalsys.O_TRUNC, 0o644)
			assert.Equal(t, EPERM, e, "create through it")
			_, e = fsys.OpenFile(l, experimentalsys.O_RDONLY|experimentalsys.O_NOFOLLOW, 0)
			assert.Equal(t, experimentalsys.ELOOP, e, "open without following")
			_, e = fsys.Stat(l)
			assert.Equal(t, EPERM, e, "stat")
			assert.Equal(t, EPERM, fsys.Utimens(l, 0, 0), "utimens")
			assert.Equal(t, EPERM, fsys.Chmod(l, 0o600), "chmod")
			assert.Equal(t, EPERM, fsys.Mkdir(l+"/made", 0o755), "mkdir beneath")
			st, e := fsys.Lstat(l)
			require.Zero(t, e, "lstat is of the link")
			assert.Equal(t, fs.ModeSymlink, st.Mode.Type())
			target, e := fsys.Readlink(l)
			require.Zero(t, e, "readlink reads the link")
			want, err := os.Readlink(filepath.Join(fx.proj, l))
			require.NoError(t, err)
			assert.Equal(t, filepath.ToSlash(want), target)
		})
	}
	// An absolute path is the grant's: the host path of the secret is
	// nothing in it.
	_, e := openRead(fsys, filepath.ToSlash(filepath.Join(fx.out, "secret.txt")))
	assert.Equal(t, ENOENT, e)
	// Guests cannot make links, even pointing inside.
	assert.Equal(t, EPERM, fsys.Symlink("data.txt", "made-link"))
	// Inside, links and ".." that stay inside work.
	for _, p := range []string{"data.txt", "/data.txt", "inner", "sub/innerup", "sub/../data.txt", "d/secret.txt"} {
		got, e := openRead(fsys, p)
		require.Zero(t, e, p)
		assert.Equal(t, insideSecret, got, p)
	}
	fx.untouched(t)
	assert.NoFileExists(t, filepath.Join(fx.proj, "stolen"))
	assert.NoFileExists(t, filepath.Join(fx.proj, "made-link"))
	assert.NoFileExists(t, filepath.Join(fx.proj, "moved"))
}

// The file a guest opened works as WASI needs it, by its descriptor: a
// directory is read (and read again after a rewind) from what was opened,
// even when its name is swapped for a link to the outside meanwhile; the
// read-write operations of a file work.
func TestRootFSOpenFile(t *testing.T) {
	fx := newFSFixture(t)
	fsys := newRootFS(t, fx.proj)
	dir, e := fsys.OpenFile("d", experimentalsys.O_RDONLY|experimentalsys.O_DIRECTORY, 0)
	require.Zero(t, e)
	defer dir.Close()
	want := []string{"lnk", "secret.txt"}
	assert.Equal(t, want, direntNames(t, dir))
	require.NoError(t, os.Rename(filepath.Join(fx.proj, "d"), filepath.Join(fx.proj, "d.real")))
	require.NoError(t, os.Rename(filepath.Join(fx.proj, "evil"), filepath.Join(fx.proj, "d")))
	_, e = dir.Seek(0, io.SeekStart)
	require.Zero(t, e)
	assert.Equal(t, want, direntNames(t, dir), "the rewound directory is the one opened")
	_, e = fsys.OpenFile("d", experimentalsys.O_RDONLY|experimentalsys.O_DIRECTORY, 0)
	assert.Equal(t, experimentalsys.EPERM, e, "the name is a link out now")
	require.NoError(t, os.Rename(filepath.Join(fx.proj, "d"), filepath.Join(fx.proj, "evil")))
	require.NoError(t, os.Rename(filepath.Join(fx.proj, "d.real"), filepath.Join(fx.proj, "d")))

	_, e = fsys.OpenFile("data.txt", experimentalsys.O_RDONLY|experimentalsys.O_DIRECTORY, 0)
	assert.Equal(t, experimentalsys.ENOTDIR, e)
	_, e = fsys.OpenFile("d", experimentalsys.O_RDWR|experimentalsys.O_DIRECTORY, 0)
	assert.Equal(t, experimentalsys.EISDIR, e)
	_, e = fsys.OpenFile("data.txt", experimentalsys.O_WRONLY|experimentalsys.O_CREAT|experimentalsys.O_EXCL, 0o644)
	assert.Equal(t, experimentalsys.EEXIST, e)

	f, e := fsys.OpenFile("new.txt", experimentalsys.O_RDWR|experimentalsys.O_CREAT|experimentalsys.O_EXCL, 0o644)
	require.Zero(t, e)
	n, e := f.Write([]byte("hello world"))
	require.Zero(t, e)
	assert.Equal(t, 11, n)
	_, e = f.Pwrite([]byte("W"), 6)
	require.Zero(t, e)
	buf := make([]byte, 5)
	n, e = f.Pread(buf, 6)
	require.Zero(t, e)
	assert.Equal(t, "World", string(buf[:n]))
	off, e := f.Seek(0, io.SeekStart)
	require.Zero(t, e)
	assert.Zero(t, off)
	require.Zero(t, f.SetAppend(true))
	assert.True(t, f.IsAppend())
	_, e = f.Write([]byte("!"))
	require.Zero(t, e)
	require.Zero(t, f.Truncate(12))
	require.Zero(t, f.Sync())
	require.Zero(t, f.Utimens(experimentalsys.UTIME_OMIT, 1e9))
	st, e := f.Stat()
	require.Zero(t, e)
	assert.Equal(t, int64(12), st.Size)
	assert.Equal(t, int64(1e9), st.Mtim)
	isDir, e := f.IsDir()
	require.Zero(t, e)
	assert.False(t, isDir)
	_, e = f.Readdir(1)
	assert.Equal(t, experimentalsys.EBADF, e, "not a directory")
	require.Zero(t, f.Close())
	_, e = f.Read(buf)
	assert.Equal(t, experimentalsys.EBADF, e, "closed")
	got, err := os.ReadFile(filepath.Join(fx.proj, "new.txt"))
	require.NoError(t, err)
	assert.Equal(t, "hello World!", string(got))

	// The operations by path, inside.
	require.Zero(t, fsys.Mkdir("made", 0o755))
	assert.Equal(t, experimentalsys.EEXIST, fsys.Mkdir("made", 0o755))
	assert.Equal(t, experimentalsys.ENOENT, fsys.Mkdir("no/such", 0o755))
	assert.Equal(t, experimentalsys.EISDIR, fsys.Unlink("made"))
	assert.Equal(t, experimentalsys.ENOTDIR, fsys.Rmdir("new.txt"))
	assert.Equal(t, experimentalsys.EISDIR, fsys.Rename("new.txt", "made"))
	require.Zero(t, fsys.Rename("new.txt", "made/moved.txt"))
	require.Zero(t, fsys.Link("made/moved.txt", "hard.txt"))
	require.Zero(t, fsys.Chmod("hard.txt", 0o600))
	got2, e := openRead(fsys, "hard.txt")
	require.Zero(t, e)
	assert.Equal(t, "hello World!", got2)
	require.Zero(t, fsys.Unlink("hard.txt"))
	require.Zero(t, fsys.Unlink("made/moved.txt"))
	require.Zero(t, fsys.Rmdir("made"))
	assert.Equal(t, experimentalsys.ENOENT, fsys.Unlink("made"))
	fx.untouched(t)
}

// The race the check-then-open design lost: while the name d is swapped,
// again and again, between the directory and a link to the outside, every
// operation beneath d either acts on d's own entries or is refused; never
// on the outside's. The prober goes on until it has seen both states many
// times (so the race was run), within a bound.
func TestRootFSRenameRace(t *testing.T) {
	fx := newFSFixture(t)
	fsys := newRootFS(t, fx.proj)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var swaps int
	wg.Add(1)
	go func() {
		defer wg.Done()
		p := func(n string) string { return filepath.Join(fx.proj, n) }
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = os.Rename(p("d"), p("d.real"))
			_ = os.Rename(p("evil"), p("d"))
			_ = os.Rename(p("d"), p("evil"))
			_ = os.Rename(p("d.real"), p("d"))
			swaps++
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	const want, bound = 200, 200000
	leaks := map[string]int{}
	inside, refused, rounds := 0, 0, 0
	leak := func(op, what string) { leaks[op+": "+what]++ }
	for ; rounds < bound && (inside < want || refused < want); rounds++ {
		switch got, e := openRead(fsys, "d/secret.txt"); {
		case e == experimentalsys.EPERM:
			refused++
		case e == 0 && got == insideSecret:
			inside++
		case e == 0:
			leak("open", got)
		}
		if st, e := fsys.Stat("d/secret.txt"); e == 0 && st.Size != int64(len(insideSecret)) {
			leak("stat", fmt.Sprint(st.Size))
		}
		if st, e := fsys.Lstat("d/secret.txt"); e == 0 && st.Size != int64(len(insideSecret)) {
			leak("lstat", fmt.Sprint(st.Size))
		}
		if l, e := fsys.Readlink("d/lnk"); e == 0 && l != "in-target" {
			leak("readlink", l)
		}
		if f, e := fsys.OpenFile("d", experimentalsys.O_RDONLY|experimentalsys.O_DIRECTORY, 0); e == 0 {
			ds, _ := f.Readdir(100)
			for _, d := range ds {
				if d.Name == "OUTSIDE_MARKER" || d.Name == "victim" {
					leak("readdir", d.Name)
				}
			}
			_ = f.Close()
		}
		if e := fsys.Unlink("d/victim"); e == 0 {
			leak("unlink", "victim")
		}
		if e := fsys.Rename("d/target", "moved"); e == 0 {
			leak("rename", "target")
		}
		if e := fsys.Link("d/secret.txt", "stolen"); e == 0 {
			if got, _ := openRead(fsys, "stolen"); got != insideSecret {
				leak("link", got)
			}
			_ = fsys.Unlink("stolen")
		}
		if fsys.Mkdir("d/made", 0o755) == 0 {
			_ = fsys.Rmdir("d/made")
		}
		if f, e := fsys.OpenFile("d/made.txt", experimentalsys.O_WRONLY|experimentalsys.O_CREAT|experimentalsys.O_TRUNC, 0o644); e == 0 {
			_ = f.Close()
			_ = fsys.Unlink("d/made.txt")
		}
		_ = fsys.Utimens("d/secret.txt", 0, 0)
		_ = fsys.Chmod("d/secret.txt", 0o600)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d rounds against %d swaps: %d reads inside, %d refused", rounds, swaps, inside, refused)
	assert.Empty(t, leaks, "operations that reached the outside")
	assert.GreaterOrEqual(t, inside, want, "the directory was seen")
	assert.GreaterOrEqual(t, refused, want, "the link was seen: the race ran")
	fx.untouched(t)
	got, err := os.ReadFile(filepath.Join(fx.proj, "d", "secret.txt"))
	require.NoError(t, err)
	assert.Equal(t, insideSecret, string(got))
}
