// Package archive writes and reads the archives of plugin packages: a
// deterministic tar.gz, an extraction that refuses every entry that could
// write outside its directory or too much, and the content hash of an
// unpacked tree.
//
// Determinism: entries are sorted by name and carry nothing of the machine
// that wrote them (mtime 0, uid/gid 0, no user or group name, mode 0644,
// no directory entries); the gzip header has no name and no time. The same
// files give the same bytes with the same Go release (compress/flate's
// output may change between releases).
//
// Extraction accepts regular files only, under relative, clean slash
// paths: an absolute path, a ".." component, a backslash, a symlink, a
// hard link, a device, a FIFO, a duplicate name, more than Limits.MaxFiles
// files or Limits.MaxBytes bytes are unsafe_archive, refused before the
// entry is written.
package archive

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/clawd-go/clawd/clawerr"
)

// File is one file of an archive: Name in the archive (a relative slash
// path), Path on disk.
type File struct {
	Name string
	Path string
}

// Write writes the deterministic tar.gz of files to w. Every Path must be
// a regular file (a symlink is refused, not followed).
func Write(w io.Writer, files []File) error {
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for i, f := range sorted {
		if err := CheckName(f.Name); err != nil {
			return err
		}
		if i > 0 && sorted[i-1].Name == f.Name {
			return fmt.Errorf("archive: %s listed twice", f.Name)
		}
		if err := writeFile(tw, f); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeFile(tw *tar.Writer, f File) error {
	st, err := os.Lstat(f.Path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("archive: %s: not a regular file (%v)", f.Name, st.Mode().Type())
	}
	src, err := os.Open(f.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.Name, Size: st.Size(), Mode: 0o644,
		ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
	if len(f.Name) <= 100 {
		hdr.Format = tar.FormatUSTAR
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(tw, src)
	if err != nil {
		return err
	}
	if n != st.Size() {
		return fmt.Errorf("archive: %s changed size while it was written", f.Name)
	}
	return nil
}

// CheckName refuses an archive name that is not a relative, clean slash
// path inside the archive's root (unsafe_archive).
func CheckName(name string) error {
	bad := func(why string) error {
		return clawerr.New(clawerr.UnsafeArchive, "", "extract", fmt.Sprintf("entry %q: %s", name, why), nil)
	}
	switch {
	case name == "" || name == ".":
		return bad("empty name")
	case strings.ContainsAny(name, "\x00\\:") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return bad("a NUL, backslash, colon or control character in the name")
	case strings.HasPrefix(name, "/") || filepath.IsAbs(name):
		return bad("an absolute path")
	case len(name) > 1024:
		return bad("a name longer than 1024 bytes")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return bad("a path that leaves the directory (..)")
		}
	}
	if path.Clean(name) != name {
		return bad("not a clean path")
	}
	return nil
}

// Limits bound an extraction.
type Limits struct {
	MaxFiles int   // most files (DefaultMaxFiles if 0)
	MaxBytes int64 // most bytes of all files together (DefaultMaxBytes if 0)
}

// Defaults of Limits.
const (
	DefaultMaxFiles       = 1000
	DefaultMaxBytes int64 = 512 << 20
)

// headerAllowance is what the tar headers of one entry may add to the
// uncompressed stream beyond the file's bytes (its PAX records included):
// the decompressed stream is cut at MaxBytes plus this per file, so a bomb
// made of headers stops too.
const headerAllowance = 64 << 10

// Extract unpacks the tar.gz read from r into dir, a scratch directory
// that must exist and be empty, and returns the names of the files
// written, sorted. Files are created 0644 (directories 0755), never over
// an existing file, and not synced to disk: what is read back from a
// scratch directory needs no durability, and a sync per file made packing
// wait on the disk. On error what was written stays in dir: the caller
// removes dir.
func Extract(r io.Reader, dir string, lim Limits) ([]string, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return extract(r, root, lim, false)
}

// ExtractRoot is Extract into the directory root, with each file synced
// to disk before it is closed: for a directory that is then renamed into
// place. Every file and directory is created beneath root, never through
// a link that leaves it.
func ExtractRoot(r io.Reader, root *os.Root, lim Limits) ([]string, error) {
	return extract(r, root, lim, true)
}

func extract(r io.Reader, root *os.Root, lim Limits, sync bool) ([]string, error) {
	if lim.MaxFiles <= 0 {
		lim.MaxFiles = DefaultMaxFiles
	}
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultMaxBytes
	}
	unsafe := func(format string, args ...any) error {
		return clawerr.New(clawerr.UnsafeArchive, "", "extract", fmt.Sprintf(format, args...), nil)
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, unsafe("not a gzip stream: %v", err)
	}
	gz.Multistream(false)
	budget := lim.MaxBytes + int64(lim.MaxFiles+1)*headerAllowance
	lr := &limitedReader{r: gz, n: budget}
	tr := tar.NewReader(lr)
	var names []string
	var total int64
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if lr.over {
				return nil, unsafe("more than %d bytes of archive stream (a tar bomb?)", budget)
			}
			return nil, unsafe("not a readable tar archive: %v", err)
		}
		if hdr.Typeflag == tar.TypeDir { // "dir/": directories come from the files' paths
			if err := CheckName(strings.TrimSuffix(hdr.Name, "/")); err != nil {
				return nil, err
			}
			continue
		}
		if err := CheckName(hdr.Name); err != nil {
			return nil, err
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
		case tar.TypeSymlink:
			return nil, unsafe("entry %q: a symlink (to %q); packages hold regular files only", hdr.Name, hdr.Linkname)
		case tar.TypeLink:
			return nil, unsafe("entry %q: a hard link (to %q); packages hold regular files only", hdr.Name, hdr.Linkname)
		case tar.TypeChar, tar.TypeBlock:
			return nil, unsafe("entry %q: a device file; packages hold regular files only", hdr.Name)
		case tar.TypeFifo:
			return nil, unsafe("entry %q: a FIFO; packages hold regular files only", hdr.Name)
		default:
			return nil, unsafe("entry %q: type %q is not a regular file", hdr.Name, hdr.Typeflag)
		}
		if seen[hdr.Name] {
			return nil, unsafe("entry %q: appears twice", hdr.Name)
		}
		seen[hdr.Name] = true
		if len(names) >= lim.MaxFiles {
			return nil, unsafe("more than %d files (a tar bomb?)", lim.MaxFiles)
		}
		if hdr.Size < 0 || hdr.Size > lim.MaxBytes-total {
			return nil, unsafe("entry %q: %d bytes would pass the limit of %d bytes for the whole package (a tar bomb?)", hdr.Name, hdr.Size, lim.MaxBytes)
		}
		total += hdr.Size
		if err := writeEntry(root, hdr.Name, tr, hdr.Size, sync); err != nil {
			if lr.over {
				return nil, unsafe("more than %d bytes of archive stream (a tar bomb?)", budget)
			}
			return nil, err
		}
		names = append(names, hdr.Name)
	}
	sort.Strings(names)
	return names, nil
}

func writeEntry(root *os.Root, name string, r io.Reader, size int64, sync bool) error {
	p := filepath.FromSlash(name)
	if err := root.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return clawerr.New(clawerr.UnsafeArchive, "", "extract", fmt.Sprintf("entry %q: its directory cannot be made (a file of that name?)", name), err)
	}
	f, err := root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return clawerr.New(clawerr.UnsafeArchive, "", "extract", fmt.Sprintf("entry %q: cannot be created (it names a directory, or a file that exists)", name), err)
	}
	n, err := io.CopyN(f, r, size)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return clawerr.New(clawerr.UnsafeArchive, "", "extract", fmt.Sprintf("entry %q: cut short at %d of %d bytes", name, n, size), nil)
		}
		return fmt.Errorf("extract %s: %w", name, err)
	}
	return nil
}

// limitedReader is io.LimitReader that remembers it hit its limit.
type limitedReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		l.over = true
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// Tree is the content of an unpacked directory: each regular file's slash
// path and the hex sha256 of its bytes.
type Tree map[string]string

// Hash is the content hash of the tree: the hex sha256 of its lines
// "PATH\x00SHA256\n", sorted by path.
func (t Tree) Hash() string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%s\n", n, t[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ReadTree hashes every file under dir. Anything but a regular file or a
// directory (a symlink, a device) is an error naming it: an installed
// tree holds nothing else. dir itself is not followed if it is a link,
// and nothing is read outside it. At most maxFiles files are read (0: no
// bound).
func ReadTree(dir string, maxFiles int) (Tree, error) {
	st, err := os.Lstat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory (%v): an installed plugin is a directory, never a link", filepath.Base(dir), st.Mode().Type())
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	// The directory opened is the one looked at, not a link swapped in
	// between.
	if rst, err := root.Stat("."); err != nil || !os.SameFile(st, rst) {
		return nil, fmt.Errorf("%s: changed while it was opened", filepath.Base(dir))
	}
	return ReadTreeRoot(root, maxFiles)
}

// ReadTreeRoot is ReadTree of the directory root.
func ReadTreeRoot(root *os.Root, maxFiles int) (Tree, error) {
	t := Tree{}
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file (%v)", p, d.Type())
		}
		if maxFiles > 0 && len(t) >= maxFiles {
			return fmt.Errorf("more than %d files", maxFiles)
		}
		f, err := root.OpenFile(filepath.FromSlash(p), os.O_RDONLY, 0)
		if err != nil {
			return err
		}
		sum, err := hashOpen(f, p)
		f.Close()
		if err != nil {
			return err
		}
		t[p] = sum
		return nil
	})
	return t, err
}

// HashFile returns the hex sha256 of the regular file at p.
func HashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return hashOpen(f, filepath.Base(p))
}

func hashOpen(f *os.File, name string) (string, error) {
	if st, err := f.Stat(); err != nil {
		return "", err
	} else if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", name)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Diff names what differs between want (recorded) and got (on disk):
// "changed: PATH", "missing: PATH", "added: PATH", sorted.
func Diff(want, got Tree) []string {
	var out []string
	for n, s := range want {
		g, ok := got[n]
		switch {
		case !ok:
			out = append(out, "missing: "+n)
		case g != s:
			out = append(out, "changed: "+n)
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			out = append(out, "added: "+n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		_, a, _ := strings.Cut(out[i], ": ")
		_, b, _ := strings.Cut(out[j], ": ")
		return a < b
	})
	return out
}
