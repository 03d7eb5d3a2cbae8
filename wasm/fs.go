package wasm

import (
	"errors"
	"io/fs"
	"os"
	"path"

	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"
)

// confinedFS is the project directory as the guest sees it: wazero's
// DirFS, with every path first resolved through an os.Root of the same
// directory. wazero's DirFS follows symlinks wherever they point, so a
// symlink in the project (or one a guest with fs.write made) would reach
// the whole host file system; here a path whose resolution leaves the
// directory is EPERM, and the guest cannot make symlinks at all.
type confinedFS struct {
	experimentalsys.FS
	root *os.Root
}

// mountProject mounts dir at "/" for the guest, read-only unless write.
func mountProject(dir string, write bool) (wazero.FSConfig, *os.Root, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	var f experimentalsys.FS = &confinedFS{FS: sysfs.DirFS(dir), root: root}
	if !write {
		f = &sysfs.ReadFS{FS: f}
	}
	return wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(f, "/"), root, nil
}

// rel is p relative to the mount, cleaned: "." for the root itself.
func rel(p string) string {
	c := path.Clean("/" + p)[1:]
	if c == "" {
		return "."
	}
	return c
}

// check refuses a path whose resolution would leave the directory: an
// existing path must resolve inside it (a symlink to a target inside it is
// fine); a path that does not exist yet must have its parent inside it.
func (c *confinedFS) check(p string) experimentalsys.Errno {
	p = rel(p)
	fi, err := c.root.Lstat(p)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		if _, err := c.root.Stat(p); err != nil {
			return experimentalsys.EPERM // dangling, or pointing outside
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

func (c *confinedFS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if e := c.check(p); e != 0 {
		return nil, e
	}
	return c.FS.OpenFile(p, flag, perm)
}

func (c *confinedFS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) {
	if e := c.check(path.Dir(rel(p))); e != 0 {
		return sys.Stat_t{}, e
	}
	return c.FS.Lstat(p)
}

func (c *confinedFS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	if e := c.check(p); e != 0 {
		return sys.Stat_t{}, e
	}
	return c.FS.Stat(p)
}

func (c *confinedFS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	if e := c.check(p); e != 0 {
		return e
	}
	return c.FS.Mkdir(p, perm)
}

func (c *confinedFS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	if e := c.check(p); e != 0 {
		return e
	}
	return c.FS.Chmod(p, perm)
}

func (c *confinedFS) Rename(from, to string) experimentalsys.Errno {
	if e := c.check(path.Dir(rel(from))); e != 0 {
		return e
	}
	if e := c.check(path.Dir(rel(to))); e != 0 {
		return e
	}
	return c.FS.Rename(from, to)
}

func (c *confinedFS) Rmdir(p string) experimentalsys.Errno {
	if e := c.check(path.Dir(rel(p))); e != 0 {
		return e
	}
	return c.FS.Rmdir(p)
}

func (c *confinedFS) Unlink(p string) experimentalsys.Errno {
	if e := c.check(path.Dir(rel(p))); e != 0 {
		return e
	}
	return c.FS.Unlink(p)
}

func (c *confinedFS) Link(oldPath, newPath string) experimentalsys.Errno {
	if e := c.check(oldPath); e != 0 {
		return e
	}
	if e := c.check(newPath); e != 0 {
		return e
	}
	return c.FS.Link(oldPath, newPath)
}

// Symlink is refused: a guest-made symlink is a way out, however checked.
func (c *confinedFS) Symlink(string, string) experimentalsys.Errno { return experimentalsys.EPERM }

func (c *confinedFS) Readlink(p string) (string, experimentalsys.Errno) {
	if e := c.check(path.Dir(rel(p))); e != 0 {
		return "", e
	}
	return c.FS.Readlink(p)
}

func (c *confinedFS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	if e := c.check(p); e != 0 {
		return e
	}
	return c.FS.Utimens(p, atim, mtim)
}
