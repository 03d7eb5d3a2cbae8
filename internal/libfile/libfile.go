// Package libfile checks a plugin library file before anything maps it.
//
// The dynamic loader trusts the file it is given: opening a FIFO blocks, a
// device never ends, and an ELF truncated below its segments raises SIGBUS
// in the process that maps it. Open refuses what is not a regular file
// (without blocking on it), what is over a size limit (before reading it)
// and, given the plugin's directory, a path that resolves outside it.
// CheckFormat refuses what the dynamic loader of this OS cannot map safely:
// another format, another machine, or a file whose header tables or
// loadable segments do not lie inside it. Check does both, for a caller
// holding a bare path.
//
// What passes can still crash the process when its code runs: the checks
// catch broken files, not hostile code (that is the process sandbox's job).
//
// Errors are *clawerr.Error: open_failed for a file that cannot be opened
// or is not a loadable library, manifest_invalid for a path that leaves the
// plugin directory (the manifest's entry must not).
package libfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/clawd-go/clawd/clawerr"
)

// DefaultMaxSize is the size limit when Options.MaxSize is 0: 256 MiB,
// far above any real plugin, far below what would exhaust a host.
const DefaultMaxSize int64 = 256 << 20

// Options says how a file is checked and how its errors read.
type Options struct {
	// MaxSize is the largest file accepted, in bytes; 0 means
	// DefaultMaxSize. A negative limit is an error.
	MaxSize int64
	// Dir, when set, is the plugin directory: the path, with every
	// symlink resolved, must lie inside it (with Dir's own symlinks
	// resolved too).
	Dir string
	// Name is how messages name the file; default the path's base name.
	Name string
	// Plugin and Op fill the *clawerr.Error returned.
	Plugin, Op string
	// WASM checks for a WebAssembly module (the wasm runtime's entry)
	// instead of a native library of this OS.
	WASM bool
}

func (o Options) name(path string) string {
	if o.Name != "" {
		return o.Name
	}
	return filepath.Base(path)
}

func (o Options) fail(code clawerr.Code, name string, cause error, format string, args ...any) *clawerr.Error {
	return clawerr.New(code, o.Plugin, o.Op, name+": "+fmt.Sprintf(format, args...), cause)
}

// File is a library file opened by Open: a regular file within the limit.
type File struct {
	f    *os.File
	size int64
	name string
	o    Options
}

// Open opens path for reading if it may be a plugin library. It resolves
// symlinks (and with Options.Dir refuses a path that leaves the
// directory), refuses what is not a regular file from its metadata before
// opening it, opens it without blocking and without following a symlink
// swapped in since, and checks that the opened file is the one examined.
func Open(path string, o Options) (*File, error) {
	name := o.name(path)
	limit := o.MaxSize
	switch {
	case limit < 0:
		return nil, o.fail(clawerr.OpenFailed, name, nil, "size limit %d is negative (0 means the default, %s)", limit, sizeText(DefaultMaxSize))
	case limit == 0:
		limit = DefaultMaxSize
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, o.fail(clawerr.OpenFailed, name, err, "cannot make the path absolute")
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, o.fail(clawerr.OpenFailed, name, err, "cannot open")
	}
	if o.Dir != "" {
		if err := inside(real, o.Dir); err != nil {
			return nil, o.fail(clawerr.ManifestInvalid, name, nil, "%v", err)
		}
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, o.fail(clawerr.OpenFailed, name, err, "cannot open")
	}
	if err := acceptable(st, limit); err != nil {
		return nil, o.fail(clawerr.OpenFailed, name, nil, "%v", err)
	}
	f, err := openFile(real)
	if err != nil {
		return nil, o.fail(clawerr.OpenFailed, name, err, "cannot open")
	}
	fst, err := f.Stat()
	if err == nil {
		if !os.SameFile(st, fst) {
			err = errors.New("replaced while being opened")
		} else {
			err = acceptable(fst, limit)
		}
	}
	if err != nil {
		f.Close()
		return nil, o.fail(clawerr.OpenFailed, name, nil, "%v", err)
	}
	return &File{f: f, size: fst.Size(), name: name, o: o}, nil
}

// inside reports whether real (symlinks resolved) lies inside dir.
func inside(real, dir string) error {
	absDir, err := filepath.Abs(dir)
	if err == nil {
		absDir, err = filepath.EvalSymlinks(absDir)
	}
	if err != nil {
		return fmt.Errorf("cannot resolve the plugin directory %s: %v", dir, err)
	}
	rel, err := filepath.Rel(absDir, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return fmt.Errorf("resolves to %s, outside the plugin directory %s (an entry must stay inside it, symlinks included)", real, absDir)
	}
	return nil
}

// acceptable refuses what is not a regular file and what is over limit.
func acceptable(st os.FileInfo, limit int64) error {
	if kind := kindOf(st.Mode()); kind != "" {
		return fmt.Errorf("%s, not a regular file", kind)
	}
	if st.Size() > limit {
		return fmt.Errorf("%s, over the size limit of %s", sizeText(st.Size()), sizeText(limit))
	}
	return nil
}

func kindOf(m os.FileMode) string {
	switch {
	case m.IsRegular():
		return ""
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	}
	return fmt.Sprintf("a special file (mode %v)", m)
}

// sizeText writes a size as people read it, with the exact bytes.
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/(1<<20), n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Size is the file's size when it was opened.
func (f *File) Size() int64 { return f.size }

// ReadAt reads from the opened file.
func (f *File) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// CheckFormat checks the opened file's format (see the package function).
func (f *File) CheckFormat() error {
	o := f.o
	o.Name = f.name
	return CheckFormat(f.f, f.size, o)
}

// CopyTo streams the file's bytes to w from its start, in constant memory.
// A file that shrank or grew since it was opened is an error: what w got
// is then not the file that was checked.
func (f *File) CopyTo(w io.Writer) error {
	n, err := io.Copy(w, io.NewSectionReader(f.f, 0, f.size))
	if err != nil {
		return f.o.fail(clawerr.OpenFailed, f.name, err, "reading")
	}
	if n < f.size {
		return f.o.fail(clawerr.OpenFailed, f.name, nil, "shrank while being read (%d of %d bytes)", n, f.size)
	}
	var one [1]byte
	if m, _ := f.f.ReadAt(one[:], f.size); m > 0 {
		return f.o.fail(clawerr.OpenFailed, f.name, nil, "grew while being read (past %d bytes)", f.size)
	}
	return nil
}

// Check opens path (Open) and checks its format (CheckFormat): what a
// caller about to dlopen a bare path runs first.
func Check(path string, o Options) error {
	f, err := Open(path, o)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.CheckFormat()
}
