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
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/archive"
)

// Name is the lock file's name in a plugin directory.
const Name = "clawd.lock"

// Schema is the version of the format written.
const Schema = 1

// maxSize bounds what Read reads.
const maxSize = 16 << 20

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
	PublisherKey  string       `json:"publisher_key"`  // manifest.KeyID of the key that signed the package
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

// Read reads the lock file at path; a missing file is an empty lock.
func Read(path string) (*Lock, error) {
	// Opening a FIFO blocks: look before opening.
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxSize)
	}
	l := New()
	if err := json.Unmarshal(data, l); err != nil {
		return nil, clawerr.New(clawerr.ManifestInvalid, "", "lock", fmt.Sprintf("%s: not a lock file: %v", path, err), nil)
	}
	if l.Schema != Schema {
		return nil, clawerr.New(clawerr.ManifestInvalid, "", "lock", fmt.Sprintf("%s: schema %d, this version reads %d", path, l.Schema, Schema), nil)
	}
	if l.Indexes == nil {
		l.Indexes = map[string]IndexState{}
	}
	if l.Plugins == nil {
		l.Plugins = map[string]*Entry{}
	}
	for n, e := range l.Plugins {
		if e == nil || e.Name != n {
			return nil, clawerr.New(clawerr.ManifestInvalid, "", "lock", fmt.Sprintf("%s: entry %q does not name itself", path, n), nil)
		}
		// A name is a directory in the plugin directory: never a path.
		if n == "" || n[0] == '.' || strings.ContainsAny(n, `/\:`) || n == Name {
			return nil, clawerr.New(clawerr.ManifestInvalid, "", "lock", fmt.Sprintf("%s: entry %q is not a plain directory name", path, n), nil)
		}
	}
	return l, nil
}

// Write writes l to path atomically: a temporary file beside it, synced,
// renamed over it, and the directory synced, so a crash leaves the old
// file or the new one.
func Write(path string, l *Lock) error {
	l.Schema = Schema
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, append(data, '\n'), 0o644)
}

// WriteFileAtomic writes data to path through a synced temporary file and
// a rename.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
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
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	SyncDir(dir)
	return nil
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
