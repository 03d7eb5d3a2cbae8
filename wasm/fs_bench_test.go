package wasm_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/wasm"
)

// checkThenDirFS is the design the project had before, kept here only to
// be measured against: each path checked through an os.Root, then used
// through wazero's DirFS by its host path. Between the two a rename can
// put a link to the outside in the path; TestRootFSRenameRace finds that
// when pointed at this.
type checkThenDirFS struct {
	experimentalsys.FS
	root *os.Root
}

func (c *checkThenDirFS) check(p string) experimentalsys.Errno {
	p = path.Clean("/" + p)[1:]
	if p == "" {
		p = "."
	}
	fi, err := c.root.Lstat(p)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		if _, err := c.root.Stat(p); err != nil {
			return experimentalsys.EPERM
		}
		return 0
	case err == nil:
		return 0
	case errors.Is(err, fs.ErrNotExist):
		if dir := path.Dir(p); dir != "." {
			if fi, err := c.root.Stat(dir); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return experimentalsys.ENOENT
				}
				return experimentalsys.EPERM
			} else if !fi.IsDir() {
				return experimentalsys.ENOTDIR
			}
		}
		return 0
	}
	return experimentalsys.EPERM
}

func (c *checkThenDirFS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if e := c.check(p); e != 0 {
		return nil, e
	}
	return c.FS.OpenFile(p, flag, perm)
}

func (c *checkThenDirFS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	if e := c.check(p); e != 0 {
		return sys.Stat_t{}, e
	}
	return c.FS.Stat(p)
}

func (c *checkThenDirFS) dir(p string) experimentalsys.Errno {
	return c.check(path.Dir(path.Clean("/" + p)[1:]))
}

func (c *checkThenDirFS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) {
	if e := c.dir(p); e != 0 {
		return sys.Stat_t{}, e
	}
	return c.FS.Lstat(p)
}

func (c *checkThenDirFS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	if e := c.check(p); e != 0 {
		return e
	}
	return c.FS.Mkdir(p, perm)
}

func (c *checkThenDirFS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	if e := c.check(p); e != 0 {
		return e
	}
	return c.FS.Chmod(p, perm)
}

func (c *checkThenDirFS) Rename(from, to string) experimentalsys.Errno {
	if e := c.dir(from); e != 0 {
		return e
	}
	if e := c.dir(to); e != 0 {
		return e
	}
	return c.FS.Rename(from, to)
}

func (c *checkThenDirFS) Rmdir(p string) experimentalsys.Errno {
	if e := c.dir(p); e != 0 {
		return e
	}
	return c.FS.Rmdir(p)
}

func (c *checkThenDirFS) Unlink(p string) experimentalsys.Errno {
	if e := c.dir(p); e != 0 {
		return e
	}
	return c.FS.Unlink(p)
}

func (c *checkThenDirFS) Link(o, n string) experimentalsys.Errno {
	if e := c.check(o); e != 0 {
		return e
	}
	if e := c.check(n); e != 0 {
		return e
	}
	return c.FS.Link(o, n)
}

func (*checkThenDirFS) Symlink(string, string) experimentalsys.Errno { return experimentalsys.EPERM }

func (c *checkThenDirFS) Readlink(p string) (string, experimentalsys.Errno) {
	if e := c.dir(p); e != 0 {
		return "", e
	}
	return c.FS.Readlink(p)
}

func (c *checkThenDirFS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	if e := c.check(p); e != 0 {
		return e
	}
	return c.FS.Utimens(p, atim, mtim)
}

// BenchmarkGuestOpenReadClose is one open, read (6 bytes) and close by a
// guest, through the project file system as mounted now (root: each
// operation one os.Root call) and as it was (check-then-dirfs: an
// os.Root check, then DirFS by host path); ratio alternates the two and
// reports root/old.
func BenchmarkGuestOpenReadClose(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte(insideSecret), 0o644); err != nil {
		b.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	mod := cbuild.WasmBare(b, "wasm_fsbench")
	bin, err := os.ReadFile(mod)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	compiled, err := r.CompileModule(ctx, bin)
	if err != nil {
		b.Fatal(err)
	}
	instantiate := func(b *testing.B, fsys experimentalsys.FS) func() {
		fc := wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(fsys, "/")
		m, err := r.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName("").
			WithStartFunctions("_initialize").WithFSConfig(fc))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = m.Close(ctx) })
		fn := m.ExportedFunction("readone")
		return func() {
			res, err := fn.Call(ctx)
			if err != nil || int32(res[0]) != int32(len(insideSecret)) {
				b.Fatalf("readone: %v %v", res, err)
			}
		}
	}
	old := func() experimentalsys.FS { return &checkThenDirFS{FS: sysfs.DirFS(dir), root: root} }
	for _, c := range []struct {
		name string
		fs   experimentalsys.FS
	}{{"check-then-dirfs", old()}, {"root", wasm.NewRootFS(root)}} {
		b.Run(c.name, func(b *testing.B) {
			call := instantiate(b, c.fs)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				call()
			}
		})
	}
	// The ratio, from calls that alternate (one machine's load affects
	// both alike): ns/op is the pair.
	b.Run("ratio", func(b *testing.B) {
		callOld, callNew := instantiate(b, old()), instantiate(b, wasm.NewRootFS(root))
		var tOld, tNew time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			callOld()
			t1 := time.Now()
			callNew()
			tNew += time.Since(t1)
			tOld += t1.Sub(t0)
		}
		b.ReportMetric(float64(tOld.Nanoseconds())/float64(b.N), "old-ns/op")
		b.ReportMetric(float64(tNew.Nanoseconds())/float64(b.N), "root-ns/op")
		b.ReportMetric(float64(tNew)/float64(tOld), "root/old")
	})
}
