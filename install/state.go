package install

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/lockfile"
)

// The folders of stateDir.
const (
	stStaging  = "staging"
	stPrevious = "previous"
	stBackup   = "backup"
	stTmp      = "tmp"
)

var stateDirs = []string{stStaging, stPrevious, stBackup, stTmp}

// Files of stateDir.
const (
	dirLockName = "lock"    // the advisory lock: one installer per plugin directory
	journalName = "journal" // the operation in progress
)

// maxJournal bounds what recover reads of a journal.
const maxJournal = 64 << 10

// session is one operation on the plugin directory: the directory and
// its state folders opened beneath it without following a link, and the
// directory's advisory lock held. Every rename and removal goes through
// these roots, so nothing swapped in on disk redirects one outside.
type session struct {
	in    *Installer
	root  *os.Root            // the plugin directory
	state *os.Root            // stateDir
	sub   map[string]*os.Root // its folders
	lock  *os.File
}

// begin opens the plugin directory, takes its lock (waiting as
// WithLockWait says) and finishes or undoes what a killed installer left.
func (in *Installer) begin(ctx context.Context) (*session, error) {
	root, err := os.OpenRoot(in.dir)
	if err != nil {
		return nil, clawerr.New(clawerr.Unavailable, "", "install", "plugin directory "+in.dir, err)
	}
	s := &session{in: in, root: root, sub: map[string]*os.Root{}}
	ok := false
	defer func() {
		if !ok {
			s.end()
		}
	}()
	state, err := in.openStateDir(root, stateDir, stateDir)
	if err != nil {
		return nil, err
	}
	s.state = state
	lock, err := in.takeLock(ctx, s.state)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	for _, d := range stateDirs {
		r, err := in.openStateDir(s.state, d, filepath.Join(stateDir, d))
		if err != nil {
			return nil, err
		}
		s.sub[d] = r
	}
	if err := s.recover(); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// beginRead is begin for an operation that only reads (List, Verify):
// in a plugin directory without stateDir no installer ever ran, so there
// is no journal to recover and no lock to take, and nothing is created.
func (in *Installer) beginRead(ctx context.Context) (*session, error) {
	root, err := os.OpenRoot(in.dir)
	if err != nil {
		return nil, clawerr.New(clawerr.NotFound, "", "install", "plugin directory "+in.dir+": check the path", err)
	}
	if _, err := root.Lstat(stateDir); errors.Is(err, fs.ErrNotExist) {
		return &session{in: in, root: root, sub: map[string]*os.Root{}}, nil
	}
	root.Close()
	return in.begin(ctx)
}

// end releases the lock and the roots.
func (s *session) end() {
	for _, r := range s.sub {
		r.Close()
	}
	if s.lock != nil {
		s.lock.Close() // closing drops the lock
	}
	if s.state != nil {
		s.state.Close()
	}
	s.root.Close()
}

// openStateDir makes (if missing) and opens the folder name of parent,
// refusing a link or anything but a directory the installer could have
// made (unsafe_archive): a link there would turn the installer's
// removals on folders outside the plugin directory.
func (in *Installer) openStateDir(parent *os.Root, name, shown string) (*os.Root, error) {
	if err := parent.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, clawerr.New(clawerr.Unavailable, "", "install", "state directory "+filepath.Join(in.dir, shown), err)
	}
	st, err := parent.Lstat(name)
	if err != nil {
		return nil, clawerr.New(clawerr.Unavailable, "", "install", "state directory "+filepath.Join(in.dir, shown), err)
	}
	unsafe := func(why string) error {
		return clawerr.New(clawerr.UnsafeArchive, "", "install", fmt.Sprintf(
			"%s: %s; the installer keeps its state in a directory it made itself and never follows a link there: remove it and run again",
			filepath.Join(in.dir, shown), why), nil)
	}
	if !st.IsDir() {
		return nil, unsafe(fmt.Sprintf("a link or another non-directory (%v)", st.Mode().Type()))
	}
	r, err := parent.OpenRoot(name)
	if err != nil {
		return nil, unsafe(err.Error())
	}
	if rst, err := r.Stat("."); err != nil || !os.SameFile(st, rst) {
		r.Close()
		return nil, unsafe("replaced while it was opened")
	}
	return r, nil
}

// takeLock opens stateDir/lock and locks it, trying until the lock wait
// passes or ctx ends: then busy.
func (in *Installer) takeLock(ctx context.Context, state *os.Root) (*os.File, error) {
	if st, err := state.Lstat(dirLockName); err == nil && !st.Mode().IsRegular() {
		return nil, clawerr.New(clawerr.UnsafeArchive, "", "install", fmt.Sprintf("%s: not a regular file (%v); the installer never follows a link there: remove it and run again",
			filepath.Join(in.dir, stateDir, dirLockName), st.Mode().Type()), nil)
	}
	f, err := state.OpenFile(dirLockName, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, clawerr.New(clawerr.Unavailable, "", "install", "the installer's lock file", err)
	}
	deadline := time.Now().Add(in.o.lockWait)
	pause := 5 * time.Millisecond
	for {
		got, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, clawerr.New(clawerr.Unavailable, "", "install", "locking "+filepath.Join(in.dir, stateDir, dirLockName), err)
		}
		if got {
			return f, nil
		}
		left := time.Until(deadline)
		if left <= 0 || ctx.Err() != nil {
			f.Close()
			return nil, clawerr.New(clawerr.Busy, "", "install", fmt.Sprintf(
				"another installer is working on %s (it holds %s): try again when it is done", in.dir, filepath.Join(stateDir, dirLockName)), ctx.Err())
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		pause = min(pause*2, 200*time.Millisecond)
	}
}

// randName is prefix and a random suffix, for the installer's own
// temporary names (created with O_EXCL or Mkdir, so never one that is there).
func randName(prefix string) string {
	return prefix + strconv.FormatUint(rand.Uint64(), 36)
}

// mkTemp makes a fresh directory in the state folder d and opens it.
func (s *session) mkTemp(d, prefix string, perm os.FileMode) (string, *os.Root, error) {
	for range 100 {
		n := randName(prefix)
		err := s.sub[d].Mkdir(n, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		r, err := s.in.openStateDir(s.sub[d], n, filepath.Join(stateDir, d, n))
		return n, r, err
	}
	return "", nil, fmt.Errorf("%s: no free temporary name", filepath.Join(stateDir, d))
}

// statePath is a path beneath stateDir, for what must be handed on as a
// path (a trial's scratch directory, a manifest to load).
func (s *session) statePath(parts ...string) string {
	return filepath.Join(append([]string{s.in.dir, stateDir}, parts...)...)
}

// lockBytes reads the lock file's bytes (nil if there is none).
func (s *session) lockBytes() ([]byte, error) {
	st, err := s.root.Lstat(lockName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, clawerr.New(clawerr.Unavailable, "", "lock", s.in.LockPath(), err)
	}
	if !st.Mode().IsRegular() {
		return nil, clawerr.New(clawerr.ManifestInvalid, "", "lock", fmt.Sprintf(
			"%s: not a regular file (%v); the installer writes a regular file only: remove it, or put back the one it wrote", s.in.LockPath(), st.Mode().Type()), nil)
	}
	f, err := s.root.Open(lockName)
	if err != nil {
		return nil, clawerr.New(clawerr.Unavailable, "", "lock", s.in.LockPath(), err)
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, lockfile.MaxSize+1))
}

// readLock reads and checks the lock file.
func (s *session) readLock() (*lockfile.Lock, error) {
	data, err := s.lockBytes()
	if err != nil {
		return nil, err
	}
	if data == nil {
		return lockfile.New(), nil
	}
	if len(data) > lockfile.MaxSize {
		return nil, clawerr.New(clawerr.ManifestInvalid, "", "lock", fmt.Sprintf("%s: larger than %d bytes", s.in.LockPath(), lockfile.MaxSize), nil)
	}
	return lockfile.Parse(data, s.in.LockPath())
}

// writeLock writes l atomically: the commit point of every operation.
func (s *session) writeLock(l *lockfile.Lock) error {
	data, err := lockfile.Marshal(l)
	if err != nil {
		return err
	}
	return lockfile.WriteRoot(s.root, lockName, data, 0o644)
}

// journal is the intent of an operation, written (atomically, synced)
// before its first rename and removed after its last step. The lock file
// is the commit point: recover compares the lock file with Lock, the
// sha256 of the lock the operation writes. Not written yet: the moves are
// undone, in reverse, so the plugin directory is as before. Written: the
// steps after the commit are finished. Every step is a rename that can be
// told done or not done from what is on disk, so recovering twice (a
// kill during recovery) is recovering once.
type journal struct {
	Op      string `json:"op"` // opInstall, opRollback or opRemove
	Name    string `json:"name"`
	Staging string `json:"staging,omitempty"` // opInstall: the folder of .clawd/staging holding the new version
	Lock    string `json:"lock_sha256"`
}

const (
	opInstall  = "install"
	opRollback = "rollback"
	opRemove   = "remove"
)

type move struct{ from, to, step string }

// moves are the renames before the commit, each followed by its step.
func (j *journal) moves() []move {
	live, backup := j.Name, filepath.Join(stateDir, stBackup, j.Name)
	ms := []move{{live, backup, "backup"}}
	switch j.Op {
	case opInstall:
		ms = append(ms, move{filepath.Join(stateDir, stStaging, j.Staging), live, "move"})
	case opRollback:
		ms = append(ms, move{filepath.Join(stateDir, stPrevious, j.Name), live, "move"})
	}
	return ms
}

// check refuses a journal this installer did not write.
func (j *journal) check() error {
	switch j.Op {
	case opInstall:
		suffix, ok := strings.CutPrefix(j.Staging, j.Name+"-")
		if !ok || suffix == "" || strings.Trim(suffix, "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
			return fmt.Errorf("staging %q is not a name the installer gives", j.Staging)
		}
	case opRollback, opRemove:
		if j.Staging != "" {
			return fmt.Errorf("staging %q for a %s", j.Staging, j.Op)
		}
	default:
		return fmt.Errorf("unknown operation %q", j.Op)
	}
	if err := lockfile.CheckName(j.Name); err != nil {
		return err
	}
	if len(j.Lock) != 64 || strings.Trim(j.Lock, "0123456789abcdef") != "" {
		return fmt.Errorf("lock_sha256 %q is not 64 lowercase hex digits", j.Lock)
	}
	return nil
}

func sum256(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func (s *session) exists(name string) bool { _, err := s.root.Lstat(name); return err == nil }

// run carries out one operation under its journal: the moves, the lock
// file (the commit point), the steps after it. A failure before the
// commit undoes the moves; one after it finishes them (the new version
// stays) and is returned.
func (s *session) run(j *journal, l *lockfile.Lock) error {
	data, err := lockfile.Marshal(l)
	if err != nil {
		return err
	}
	j.Lock = sum256(data)
	jdata, _ := json.Marshal(j)
	fail := func(what string, err error) error {
		return clawerr.New(clawerr.Unavailable, j.Name, j.Op, what, err)
	}
	if err := lockfile.WriteRoot(s.state, journalName, append(jdata, '\n'), 0o600); err != nil {
		return fail("writing the journal", err)
	}
	undo := func(err error) error {
		if uerr := s.undo(j); uerr != nil {
			return errors.Join(err, uerr)
		}
		return err
	}
	if err := s.in.step("journal"); err != nil {
		return undo(err)
	}
	for i, m := range j.moves() {
		if i > 0 || s.exists(m.from) { // the installed version may be missing: nothing to move aside
			if err := s.root.Rename(m.from, m.to); err != nil {
				return undo(fail("moving "+m.from+" to "+m.to, err))
			}
			lockfile.SyncRootDir(s.root, filepath.Dir(m.to))
			lockfile.SyncRootDir(s.root, filepath.Dir(m.from))
		}
		if err := s.in.step(m.step); err != nil {
			return undo(err)
		}
	}
	if err := lockfile.WriteRoot(s.root, lockName, data, 0o644); err != nil {
		return undo(fail("writing the lock file", err))
	}
	// Committed: whatever fails now, the new state stays.
	if err := s.in.step("lock"); err != nil {
		s.finish(j)
		return err
	}
	return s.finish(j)
}

// finish does the steps after the commit and removes the journal.
func (s *session) finish(j *journal) error {
	backup := filepath.Join(stateDir, stBackup, j.Name)
	switch j.Op {
	case opInstall, opRollback:
		// The version replaced becomes the one kept. Done when backup is
		// gone, so a second finish never removes the kept version.
		if s.exists(backup) {
			if err := s.sub[stPrevious].RemoveAll(j.Name); err != nil {
				return clawerr.New(clawerr.Unavailable, j.Name, j.Op, "removing the version kept before", err)
			}
			if err := s.root.Rename(backup, filepath.Join(stateDir, stPrevious, j.Name)); err != nil {
				return clawerr.New(clawerr.Unavailable, j.Name, j.Op, "keeping the previous version", err)
			}
			lockfile.SyncRootDir(s.state, stPrevious)
		}
	case opRemove:
		for _, d := range []string{stBackup, stPrevious} {
			if err := s.sub[d].RemoveAll(j.Name); err != nil {
				return clawerr.New(clawerr.Unavailable, j.Name, j.Op, "removing "+filepath.Join(stateDir, d, j.Name), err)
			}
		}
	}
	if err := s.in.step("previous"); err != nil {
		return err
	}
	return s.dropJournal()
}

// undo puts back, in reverse, each move that was made: one whose target
// is there and whose source is not.
func (s *session) undo(j *journal) error {
	ms := j.moves()
	for i := len(ms) - 1; i >= 0; i-- {
		m := ms[i]
		if !s.exists(m.to) || s.exists(m.from) {
			continue
		}
		if err := s.root.Rename(m.to, m.from); err != nil {
			return clawerr.New(clawerr.Unavailable, j.Name, "recover", "moving "+m.to+" back to "+m.from, err)
		}
		lockfile.SyncRootDir(s.root, filepath.Dir(m.from))
		if err := s.in.step("undo-" + m.step); err != nil {
			return err
		}
	}
	return s.dropJournal()
}

func (s *session) dropJournal() error {
	if err := s.state.Remove(journalName); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return clawerr.New(clawerr.Unavailable, "", "recover", "removing the journal", err)
	}
	lockfile.SyncRootDir(s.state, ".")
	return s.in.step("done")
}

// recover finishes or undoes the operation a killed installer left (its
// journal), then removes what no operation is using: staging, temporary
// files. Everything it removes is beneath the state folders it opened.
func (s *session) recover() error {
	if err := s.replayJournal(); err != nil {
		return err
	}
	if err := s.recoverBackups(); err != nil {
		return err
	}
	for _, d := range []string{stStaging, stTmp} {
		ents, _ := readDirNames(s.sub[d])
		for _, n := range ents {
			s.sub[d].RemoveAll(n)
		}
	}
	// Temporary files of an atomic write cut short.
	if ents, err := readDirNames(s.root); err == nil {
		for _, n := range ents {
			if strings.HasPrefix(n, "."+lockName+".tmp-") {
				s.root.Remove(n)
			}
		}
	}
	if ents, err := readDirNames(s.state); err == nil {
		for _, n := range ents {
			if strings.HasPrefix(n, "."+journalName+".tmp-") {
				s.state.Remove(n)
			}
		}
	}
	lockfile.SyncRootDir(s.state, stStaging)
	return nil
}

func (s *session) replayJournal() error {
	st, err := s.state.Lstat(journalName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	where := filepath.Join(s.in.dir, stateDir, journalName)
	bad := func(why string) error {
		return clawerr.New(clawerr.ManifestInvalid, "", "recover", fmt.Sprintf(
			"%s: %s; the installer did not write it: remove it, then check the plugins with verify", where, why), nil)
	}
	if err != nil {
		return clawerr.New(clawerr.Unavailable, "", "recover", where, err)
	}
	if !st.Mode().IsRegular() || st.Size() > maxJournal {
		return bad(fmt.Sprintf("not a regular file of at most %d bytes", maxJournal))
	}
	data, err := s.state.ReadFile(journalName)
	if err != nil {
		return clawerr.New(clawerr.Unavailable, "", "recover", where, err)
	}
	var j journal
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return bad(err.Error())
	}
	if err := j.check(); err != nil {
		return bad(err.Error())
	}
	lock, err := s.lockBytes()
	if err != nil {
		return err
	}
	if lock != nil && sum256(lock) == j.Lock {
		return s.finish(&j)
	}
	return s.undo(&j)
}

// recoverBackups handles a backup no journal explains (an installer
// before journals was killed): it goes back where the lock file says a
// version should be and is not, else it is not the lock's and goes.
func (s *session) recoverBackups() error {
	names, _ := readDirNames(s.sub[stBackup])
	if len(names) == 0 {
		return nil
	}
	lock, err := s.readLock()
	if err != nil {
		return err
	}
	for _, n := range names {
		e := lock.Plugins[n]
		backup := filepath.Join(stateDir, stBackup, n)
		switch {
		case lockfile.CheckName(n) != nil || e == nil:
		case !s.exists(n):
			if err := s.root.Rename(backup, n); err != nil {
				return clawerr.New(clawerr.Unavailable, n, "recover", "restoring the installed version", err)
			}
			continue
		case e.Previous != nil && !s.exists(filepath.Join(stateDir, stPrevious, n)):
			if err := s.root.Rename(backup, filepath.Join(stateDir, stPrevious, n)); err != nil {
				return clawerr.New(clawerr.Unavailable, n, "recover", "keeping the previous version", err)
			}
			continue
		}
		s.sub[stBackup].RemoveAll(n)
	}
	return nil
}

// readDirNames lists the directory r (bounded: the installer's own
// folders hold a few entries; a flood is not read whole).
func readDirNames(r *os.Root) ([]string, error) {
	d, err := r.Open(".")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(4096)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return names, err
}
