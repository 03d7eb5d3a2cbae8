package wasm

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"
)

// rootFS is the project directory as the guest sees it. Every operation
// resolves its path through one os.Root call: beneath the directory in one
// step (component by component with O_NOFOLLOW, symlinks resolved by the
// runtime), so no check can be raced by a rename between it and the use,
// and a symlink that leads out of the directory (absolute, or with ".."
// past the top), at any place in the path, is refused. wazero's own DirFS
// follows symlinks wherever they point and must never see a guest path.
// A guest cannot make symlinks; one already in the project works while it
// stays inside.
type rootFS struct {
	root *os.Root
}

// mountProject mounts dir at "/" for the guest, read-only unless write.
// The root it returns is the one every operation goes through; the caller
// closes it when no instance can use it any more.
func mountProject(dir string, write bool) (wazero.FSConfig, *os.Root, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	var f experimentalsys.FS = &rootFS{root: root}
	if !write {
		f = &sysfs.ReadFS{FS: f}
	}
	return wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(f, "/"), root, nil
}

// String names the mount without a host path (wazero may print it).
func (*rootFS) String() string { return "project" }

// name is p as a name beneath the root: leading slashes dropped (wazero
// joins paths to the mount, so "/x" is the mount's x), cleaned, "." for
// the root itself, a trailing slash kept (it asks for a directory). A name
// that climbs above the root is refused here, before any system call; the
// root refuses every other way out.
func name(p string) (string, experimentalsys.Errno) {
	dir := strings.HasSuffix(p, "/")
	c := path.Clean(strings.TrimLeft(p, "/"))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", experimentalsys.EPERM
	}
	if dir && c != "." {
		c += "/"
	}
	return c, 0
}

// errno is err as wazero's errno. An error the root makes itself rather
// than the system (a path that escapes, a link that would leave it) is
// EPERM, as the guest had for any way out before.
func errno(err error) experimentalsys.Errno {
	if err == nil {
		return 0
	}
	inner := err
	var pe *os.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		inner = pe.Err
	case errors.As(err, &le):
		inner = le.Err
	}
	if _, ok := inner.(syscall.Errno); ok {
		return experimentalsys.UnwrapOSError(inner)
	}
	switch e := experimentalsys.UnwrapOSError(inner); e {
	case experimentalsys.EIO:
		return experimentalsys.EPERM
	default:
		return e
	}
}

// osFlag is flag for os.Root.OpenFile. O_NOFOLLOW and O_DIRECTORY are
// checked by OpenFile itself; O_NONBLOCK means nothing for a regular file.
func osFlag(flag experimentalsys.Oflag) int {
	var f int
	switch flag & (experimentalsys.O_RDONLY | experimentalsys.O_WRONLY | experimentalsys.O_RDWR) {
	case experimentalsys.O_WRONLY:
		f = os.O_WRONLY
	case experimentalsys.O_RDWR:
		f = os.O_RDWR
	default:
		f = os.O_RDONLY
	}
	if flag&experimentalsys.O_APPEND != 0 {
		f |= os.O_APPEND
	}
	if flag&experimentalsys.O_CREAT != 0 {
		f |= os.O_CREATE
	}
	if flag&experimentalsys.O_EXCL != 0 {
		f |= os.O_EXCL
	}
	if flag&experimentalsys.O_TRUNC != 0 {
		f |= os.O_TRUNC
	}
	if flag&(experimentalsys.O_SYNC|experimentalsys.O_DSYNC|experimentalsys.O_RSYNC) != 0 {
		f |= os.O_SYNC
	}
	return f
}

func (r *rootFS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	n, e := name(p)
	if e != 0 {
		return nil, e
	}
	wantDir := flag&experimentalsys.O_DIRECTORY != 0
	if wantDir && flag&(experimentalsys.O_WRONLY|experimentalsys.O_RDWR) != 0 {
		return nil, experimentalsys.EISDIR
	}
	if flag&experimentalsys.O_NOFOLLOW != 0 {
		// The root follows a symlink at the end of the path (inside the
		// root only); the guest asked not to. A link swapped in after this
		// check is still resolved beneath the root.
		if fi, err := r.root.Lstat(strings.TrimSuffix(n, "/")); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, experimentalsys.ELOOP
		}
	}
	f, err := r.root.OpenFile(n, osFlag(flag), perm)
	if err != nil {
		return nil, errno(err)
	}
	rf := &rootFile{fs: r, name: n, flag: flag, perm: perm, file: f}
	if wantDir {
		if isDir, e := rf.IsDir(); e != 0 || !isDir {
			_ = f.Close()
			if e == 0 {
				e = experimentalsys.ENOTDIR
			}
			return nil, e
		}
	}
	return rf, 0
}

func (r *rootFS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) {
	n, e := name(p)
	if e != 0 {
		return sys.Stat_t{}, e
	}
	fi, err := r.root.Lstat(n)
	if err != nil {
		return sys.Stat_t{}, errno(err)
	}
	return sys.NewStat_t(fi), 0
}

func (r *rootFS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	n, e := name(p)
	if e != 0 {
		return sys.Stat_t{}, e
	}
	fi, err := r.root.Stat(n)
	if err != nil {
		return sys.Stat_t{}, errno(err)
	}
	return sys.NewStat_t(fi), 0
}

func (r *rootFS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	n, e := name(p)
	if e != 0 {
		return e
	}
	// ENOTDIR for a missing parent is ENOENT to WASI (as wazero's own).
	if e := errno(r.root.Mkdir(n, perm)); e != experimentalsys.ENOTDIR {
		return e
	}
	return experimentalsys.ENOENT
}

func (r *rootFS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	n, e := name(p)
	if e != 0 {
		return e
	}
	return errno(r.root.Chmod(n, perm))
}

func (r *rootFS) Rename(from, to string) experimentalsys.Errno {
	f, e := name(from)
	if e != 0 {
		return e
	}
	t, e := name(to)
	if e != 0 {
		return e
	}
	e = errno(r.root.Rename(f, t))
	if e == experimentalsys.EEXIST {
		// The root will not replace a directory; a file onto one is EISDIR
		// in POSIX terms.
		if fi, err := r.root.Lstat(f); err == nil && !fi.IsDir() {
			return experimentalsys.EISDIR
		}
	}
	return e
}

// Rmdir and Unlink go through Root.Remove, which removes either kind; the
// kind is checked first to give WASI its errno. Both steps resolve beneath
// the root: a swap between them removes the wrong kind of entry, inside.
func (r *rootFS) Rmdir(p string) experimentalsys.Errno {
	n, e := name(p)
	if e != 0 {
		return e
	}
	fi, err := r.root.Lstat(n)
	if err != nil {
		return errno(err)
	}
	if !fi.IsDir() {
		return experimentalsys.ENOTDIR
	}
	return errno(r.root.Remove(n))
}

func (r *rootFS) Unlink(p string) experimentalsys.Errno {
	n, e := name(p)
	if e != 0 {
		return e
	}
	fi, err := r.root.Lstat(n)
	if err != nil {
		return errno(err)
	}
	if fi.IsDir() {
		return experimentalsys.EISDIR
	}
	return errno(r.root.Remove(n))
}

func (r *rootFS) Link(oldPath, newPath string) experimentalsys.Errno {
	o, e := name(oldPath)
	if e != 0 {
		return e
	}
	n, e := name(newPath)
	if e != 0 {
		return e
	}
	return errno(r.root.Link(o, n))
}

// Symlink is refused: a guest-made symlink could point anywhere, and one
// pointing inside buys the guest nothing a path does not.
func (*rootFS) Symlink(string, string) experimentalsys.Errno { return experimentalsys.EPERM }

// Readlink reads the link itself, an entry of the project; only the
// directories on the way to it are followed, beneath the root.
func (r *rootFS) Readlink(p string) (string, experimentalsys.Errno) {
	n, e := name(p)
	if e != 0 {
		return "", e
	}
	dst, err := r.root.Readlink(strings.TrimSuffix(n, "/"))
	if err != nil {
		return "", errno(err)
	}
	return filepath.ToSlash(dst), 0
}

func (r *rootFS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	n, e := name(p)
	if e != 0 {
		return e
	}
	return errno(r.root.Chtimes(n, utime(atim), utime(mtim)))
}

// utime is a WASI time for Chtimes: the zero time leaves it as it is.
func utime(t int64) time.Time {
	if t == experimentalsys.UTIME_OMIT {
		return time.Time{}
	}
	return time.Unix(0, t)
}

// rootFile is a file the guest opened through the root: an *os.File, used
// by descriptor only. Nothing reopens it by a host path; what must go by
// name (SetAppend's reopen, Utimens) goes by its name beneath the root.
type rootFile struct {
	fs   *rootFS
	name string
	flag experimentalsys.Oflag
	perm fs.FileMode
	file *os.File

	statted bool // dev, ino and dir are known (they do not change)
	dev     uint64
	ino     sys.Inode
	dir     bool

	closed bool
}

func (f *rootFile) cached() experimentalsys.Errno {
	if f.statted {
		return 0
	}
	_, e := f.Stat()
	return e
}

func (f *rootFile) Dev() (uint64, experimentalsys.Errno) {
	if e := f.cached(); e != 0 {
		return 0, e
	}
	return f.dev, 0
}

func (f *rootFile) Ino() (sys.Inode, experimentalsys.Errno) {
	if e := f.cached(); e != 0 {
		return 0, e
	}
	return f.ino, 0
}

func (f *rootFile) IsDir() (bool, experimentalsys.Errno) {
	if e := f.cached(); e != 0 {
		return false, e
	}
	return f.dir, 0
}

func (f *rootFile) IsAppend() bool { return f.flag&experimentalsys.O_APPEND != 0 }

// SetAppend reopens the file with the new mode (Go cannot change it on an
// open file): by name beneath the root, kept only if it is the same file.
func (f *rootFile) SetAppend(enable bool) experimentalsys.Errno {
	if e := f.fileOnly(0); e != 0 {
		return e
	}
	flag := f.flag &^ (experimentalsys.O_CREAT | experimentalsys.O_TRUNC | experimentalsys.O_EXCL | experimentalsys.O_APPEND)
	if enable {
		flag |= experimentalsys.O_APPEND
	}
	off, err := f.file.Seek(0, io.SeekCurrent)
	if err != nil {
		return errno(err)
	}
	nf, err := f.fs.root.OpenFile(f.name, osFlag(flag), f.perm)
	if err != nil {
		return errno(err)
	}
	a, err1 := f.file.Stat()
	b, err2 := nf.Stat()
	if err1 != nil || err2 != nil || !os.SameFile(a, b) {
		_ = nf.Close()
		return experimentalsys.ENOENT // the name is another file now
	}
	if _, err := nf.Seek(off, io.SeekStart); err != nil {
		_ = nf.Close()
		return errno(err)
	}
	_ = f.file.Close()
	f.file, f.flag = nf, flag
	return 0
}

func (f *rootFile) Stat() (sys.Stat_t, experimentalsys.Errno) {
	if f.closed {
		return sys.Stat_t{}, experimentalsys.EBADF
	}
	fi, err := f.file.Stat()
	if err != nil {
		return sys.Stat_t{}, errno(err)
	}
	st := sys.NewStat_t(fi)
	f.dev, f.ino, f.dir, f.statted = st.Dev, st.Ino, fi.IsDir(), true
	return st, 0
}

// fileOnly is e for an open regular file, EBADF once closed, EISDIR for a
// directory: the errno wazero expects of a file operation.
func (f *rootFile) fileOnly(e experimentalsys.Errno) experimentalsys.Errno {
	if f.closed {
		return experimentalsys.EBADF
	}
	if dir, de := f.IsDir(); de != 0 {
		return de
	} else if dir {
		return experimentalsys.EISDIR
	}
	return e
}

func (f *rootFile) Read(buf []byte) (int, experimentalsys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.file.Read(buf)
	if e := errno(err); e != 0 {
		return n, f.fileOnly(e)
	}
	return n, 0
}

func (f *rootFile) Pread(buf []byte, off int64) (int, experimentalsys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.file.ReadAt(buf, off)
	if e := errno(err); e != 0 {
		return n, f.fileOnly(e)
	}
	return n, 0
}

func (f *rootFile) Seek(offset fileOffset, whence int) (int64, experimentalsys.Errno) {
	if f.closed {
		return 0, experimentalsys.EBADF
	}
	if uint(whence) > io.SeekEnd {
		return 0, experimentalsys.EINVAL
	}
	if dir, e := f.IsDir(); e != 0 {
		return 0, e
	} else if dir {
		if offset != 0 || whence != io.SeekStart {
			return 0, experimentalsys.EISDIR
		}
		// Rewinding a directory: Seek drops Go's directory buffer, and the
		// next read starts over on the same descriptor (on Windows the
		// handle's own seek may fail; the restart does not need it).
		_, _ = f.file.Seek(0, io.SeekStart)
		return 0, 0
	}
	n, err := f.file.Seek(offset, whence)
	return n, errno(err)
}

// Readdir reads entries from the open directory itself: a directory
// renamed or replaced by a link meanwhile is not looked up again.
func (f *rootFile) Readdir(n int) ([]experimentalsys.Dirent, experimentalsys.Errno) {
	if f.closed {
		return nil, experimentalsys.EBADF
	}
	if dir, e := f.IsDir(); e != 0 {
		return nil, e
	} else if !dir {
		return nil, experimentalsys.EBADF
	}
	fis, err := f.file.Readdir(n)
	if e := errno(err); e != 0 {
		return nil, e
	}
	out := make([]experimentalsys.Dirent, 0, len(fis))
	for _, fi := range fis {
		out = append(out, experimentalsys.Dirent{Name: fi.Name(), Ino: sys.NewStat_t(fi).Ino, Type: fi.Mode().Type()})
	}
	return out, 0
}

func (f *rootFile) Write(buf []byte) (int, experimentalsys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.file.Write(buf)
	if e := errno(err); e != 0 {
		return n, f.fileOnly(e)
	}
	return n, 0
}

func (f *rootFile) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.file.WriteAt(buf, off)
	if e := errno(err); e != 0 {
		return n, f.fileOnly(e)
	}
	return n, 0
}

func (f *rootFile) Truncate(size int64) experimentalsys.Errno {
	if size < 0 {
		return experimentalsys.EINVAL
	}
	if e := errno(f.file.Truncate(size)); e != 0 {
		return f.fileOnly(e)
	}
	return 0
}

func (f *rootFile) Sync() experimentalsys.Errno {
	if f.closed {
		return experimentalsys.EBADF
	}
	return errno(f.file.Sync())
}

func (f *rootFile) Datasync() experimentalsys.Errno { return f.Sync() }

// Utimens goes by name beneath the root: the os package has no way to set
// a descriptor's times.
func (f *rootFile) Utimens(atim, mtim int64) experimentalsys.Errno {
	if f.closed {
		return experimentalsys.EBADF
	}
	return errno(f.fs.root.Chtimes(f.name, utime(atim), utime(mtim)))
}

func (f *rootFile) Close() experimentalsys.Errno {
	if f.closed {
		return 0
	}
	f.closed = true
	return errno(f.file.Close())
}

// fileOffset is int64 under another name: vet's check of Seek methods
// takes one whose offset is spelled int64 for an io.Seeker, and wazero's
// File.Seek returns an errno, not an error.
type fileOffset = int64
