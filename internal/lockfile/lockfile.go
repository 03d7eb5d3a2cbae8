// Package lockfile reads and writes clawd.lock, the record of what the
// installer put in a plugin directory: per plugin the version, where it
// came from, the archive's and the unpacked tree's hashes, the publisher
// key, the capabilities granted; per index the last serial seen. Package
// install writes it; package host reads it to refuse a changed plugin.
package lockfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/archive"
)

// Name is the lock file's name in a plugin directory.
const Name = "clawd.lock"

// Schema is the version of the format written.
const Schema = 1

// MaxSize bounds what Read reads.
const MaxSize = 16 << 20

// Lock is the whole file.
type Lock struct {
	Schema  int                   `json:"schema"`
	Indexes map[string]IndexState `json:"indexes"` // by the index key's id
	Plugins map[string]*Entry     `json:"plugins"` // by plugin name
}

// IndexState is what the installer remembers of one index.
type IndexState struct {
	Serial    uint64    `json:"serial"`
	Generated time.Time `json:"generated"`
	Source    string    `json:"source"` // where it was last read from
}

// Entry is one installed plugin.
type Entry struct {
	Name          string       `json:"name"`
	Version       string       `json:"version"`
	Runtime       string       `json:"runtime"`
	Source        string       `json:"source"`         // the index (or file) it came from
	ArchiveSHA256 string       `json:"archive_sha256"` // of the package as downloaded
	ContentSHA256 string       `json:"content_sha256"` // archive.Tree.Hash of the unpacked tree
	PublisherKey  string       `json:"publisher_key"`  // sigkey.KeyID of the key that signed the package
	Capabilities  []string     `json:"capabilities"`   // granted: never more than the user agreed to
	Files         archive.Tree `json:"files"`          // per file, so verify names what changed
	Installed     time.Time    `json:"installed"`
	// Previous is the version update replaced, kept (in .clawd/previous)
	// for rollback; nil if none.
	Previous *Entry `json:"previous,omitempty"`
}

// New returns an empty lock.
func New() *Lock {
	return &Lock{Schema: Schema, Indexes: map[string]IndexState{}, Plugins: map[string]*Entry{}}
}

// Read reads the lock file at path; a missing file is an empty lock. It
// reads as ReadRoot does beneath path's directory: a lock file that is a
// link, a FIFO or a directory is refused, never followed or opened.
func Read(path string) (*Lock, error) {
	root, err := os.OpenRoot(filepath.Dir(path))
	if errors.Is(err, os.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return ReadRoot(root, filepath.Base(path))
}

// ReadRoot reads the lock file name beneath root (the plugin directory):
// a link that leaves root is not followed, a FIFO is not opened.
func ReadRoot(root *os.Root, name string) (*Lock, error) {
	st, err := root.Lstat(name)
	if errors.Is(err, os.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, notALock(name, "not a regular file (a link, a FIFO or a directory): the installer writes a regular file only")
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readFrom(f, name)
}

func notALock(where, why string) error {
	return clawerr.New(clawerr.ManifestInvalid, "", "lock", fmt.Sprintf("%s: %s (remove it, or put back the file the installer wrote)", where, why), nil)
}

func readFrom(r io.Reader, where string) (*Lock, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, notALock(where, fmt.Sprintf("larger than %d bytes", MaxSize))
	}
	return Parse(data, where)
}

// Parse decodes and checks the bytes of a lock file (where names it in
// messages). A lock file on disk is input like any other: every plugin
// name must pass CheckName before the installer builds a path from it.
func Parse(data []byte, where string) (*Lock, error) {
	l := New()
	if err := json.Unmarshal(data, l); err != nil {
		return nil, notALock(where, fmt.Sprintf("not a lock file: %v", err))
	}
	if l.Schema != Schema {
		return nil, notALock(where, fmt.Sprintf("schema %d, this version reads %d", l.Schema, Schema))
	}
	if l.Indexes == nil {
		l.Indexes = map[string]IndexState{}
	}
	if l.Plugins == nil {
		l.Plugins = map[string]*Entry{}
	}
	for n, e := range l.Plugins {
		// A name is a directory in the plugin directory: never a path.
		if err := CheckName(n); err != nil {
			return nil, notALock(where, fmt.Sprintf("entry %q: %v", n, err))
		}
		if e == nil || e.Name != n {
			return nil, notALock(where, fmt.Sprintf("entry %q does not name itself", n))
		}
		if e.Previous != nil && e.Previous.Name != n {
			return nil, notALock(where, fmt.Sprintf("entry %q: its previous version names %q", n, e.Previous.Name))
		}
	}
	return l, nil
}

// MaxNameLen is the longest plugin name, in bytes (the manifest's bound).
const MaxNameLen = 128

// CheckName is the one rule for a plugin name the installer builds a path
// from, whether it comes from a package's manifest, an index, a lock file
// or the command line: 1 to MaxNameLen ASCII letters, digits, '.', '_',
// '+' and '-', not starting or ending with a dot (so never "." or "..",
// nor a separator, a control character or a trailing dot or space), not a
// device name Windows reserves (CON, PRN, AUX, NUL, COM0-9, LPT0-9, with
// any extension, any case), and not the lock file's name. An allowlist:
// what it does not name is refused (bad_name).
func CheckName(name string) error {
	bad := func(why string) error {
		return clawerr.New(clawerr.BadName, "", "name", fmt.Sprintf("plugin name %q: %s; a plugin name is 1 to %d letters, digits, '.', '_', '+' or '-', not starting or ending with '.'", quoteName(name), why, MaxNameLen), nil)
	}
	switch {
	case name == "":
		return bad("empty")
	case len(name) > MaxNameLen:
		return bad(fmt.Sprintf("%d bytes long", len(name)))
	case strings.ContainsAny(name, `/\`):
		return bad("a path separator")
	case name == "." || name == "..":
		return bad("a directory reference")
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return bad("a control character")
	case strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") != "":
		return bad("a character outside the allowed ones")
	case name[0] == '.' || name[len(name)-1] == '.':
		return bad("starts or ends with a dot")
	case strings.EqualFold(name, Name):
		return bad("the lock file's name")
	case windowsReserved(name):
		return bad("a device name Windows reserves")
	}
	return nil
}

// windowsReserved: CON, PRN, AUX, NUL, COM0-9, LPT0-9, alone or before
// an extension, any case.
func windowsReserved(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	switch strings.ToUpper(base) {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(base) == 4 {
		p := strings.ToUpper(base[:3])
		return (p == "COM" || p == "LPT") && base[3] >= '0' && base[3] <= '9'
	}
	return false
}

// quoteName cuts a hostile name to 80 bytes for a message (%q escapes
// the rest).
func quoteName(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Write writes l to path atomically: a temporary file beside it, synced,
// renamed over it, and the directory synced, so a crash leaves the old
// file or the new one.
func Write(path string, l *Lock) error {
	data, err := Marshal(l)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, data, 0o644)
}

// Marshal is the bytes Write writes for l.
func Marshal(l *Lock) ([]byte, error) {
	l.Schema = Schema
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// WriteRoot writes data to name beneath root atomically: a temporary file
// beside it (created, never opened through a link), synced, renamed over
// it, and the directory synced.
func WriteRoot(root *os.Root, name string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(name)
	var f *os.File
	var tmp string
	for range 100 {
		tmp = filepath.Join(dir, "."+base+".tmp-"+strconv.FormatUint(rand.Uint64(), 36))
		var err error
		f, err = root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	if f == nil {
		return fmt.Errorf("%s: no free temporary name", name)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			root.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := root.Rename(tmp, name); err != nil {
		return err
	}
	ok = true
	SyncRootDir(root, dir)
	return nil
}

// SyncRootDir syncs the directory dir beneath root ("" or "." for root
// itself); best effort, as SyncDir.
func SyncRootDir(root *os.Root, dir string) {
	if dir == "" {
		dir = "."
	}
	if d, err := root.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// WriteFileAtomic writes data to path through a synced temporary file and
// a rename: WriteRoot beneath path's directory.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	root, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer root.Close()
	return WriteRoot(root, filepath.Base(path), data, perm)
}

// SyncDir syncs a directory so a rename in it survives a crash; best
// effort (some systems cannot sync a directory).
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Names returns the plugin names, sorted.
func (l *Lock) Names() []string {
	out := make([]string, 0, len(l.Plugins))
	for n := range l.Plugins {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Check compares the tree at dir with e: nil if every file is there with
// the recorded bytes and nothing was added, else checksum_mismatch naming
// the files.
func (e *Entry) Check(dir string) error {
	got, err := archive.ReadTree(dir, len(e.Files)+64)
	if err != nil {
		return clawerr.New(clawerr.ChecksumMismatch, e.Name, "verify", fmt.Sprintf("%s: %v", dir, err), nil)
	}
	if got.Hash() == e.ContentSHA256 && e.Files.Hash() == e.ContentSHA256 {
		return nil
	}
	d := archive.Diff(e.Files, got)
	if len(d) == 0 {
		d = []string{"the lock entry's content hash does not match its files"}
	}
	return clawerr.New(clawerr.ChecksumMismatch, e.Name, "verify", fmt.Sprintf("%s no longer matches the lock file: %s", dir, joinList(d)), nil)
}

func joinList(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
