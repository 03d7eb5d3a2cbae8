package install

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/clawd-go/clawd/internal/sigkey"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/archive"
	"github.com/clawd-go/clawd/internal/lockfile"
	"github.com/clawd-go/clawd/manifest"
	_ "github.com/clawd-go/clawd/wasm" // the wasm runtime, for trialOpen

	"github.com/clawd-go/clawd/internal/pkgindex"
	_ "github.com/clawd-go/clawd/isolate" // the "process" runtime of trialOpen
)

// lockName is the lock file's name in the plugin directory.
const lockName = lockfile.Name

// stateDir is the installer's directory inside the plugin directory:
// staging/ (packages being unpacked), previous/NAME (the version update
// replaced, for rollback), backup/ and tmp/ (an operation in progress).
// Its name starts with a dot and it holds no manifest, so the host's
// discovery never takes it, or anything in it, for a plugin.
const stateDir = ".clawd"

// Installer installs, updates and removes the plugins of one plugin
// directory. Each operation holds the directory's advisory lock
// (stateDir/lock): a second installer, in this process or another, waits
// for it (WithLockWait), then is refused with busy.
type Installer struct {
	dir string
	o   options
}

// New returns an installer for the plugin directory dir (created if
// missing). It first finishes or undoes an operation a killed installer
// left half done, so the directory holds the old version or the new one.
func New(dir string, opts ...Option) (*Installer, error) {
	o := defaults()
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, clawerr.New(clawerr.Unavailable, "", "install", "plugin directory", err)
	}
	in := &Installer{dir: abs, o: o}
	s, err := in.begin(context.Background())
	if err != nil {
		return nil, err
	}
	s.end()
	return in, nil
}

// Open returns an installer for the plugin directory dir, which an
// installer must have worked on before (the package verbs other than
// install): a directory that is not there, or holds neither a lock file
// nor the installer's stateDir, is refused with not_found and nothing is
// created, so a mistyped path fails rather than turning into an empty
// plugin directory. Unlike New it takes no lock and recovers nothing
// until an operation runs; List and Verify create nothing either.
func Open(dir string, opts ...Option) (*Installer, error) {
	o := defaults()
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil || !st.IsDir() {
		why := "not a directory"
		if err != nil {
			why = "not there"
		}
		return nil, clawerr.New(clawerr.NotFound, "", "open", fmt.Sprintf(
			"plugin directory %s: %s: check the path (clawd-plugin install --dir DIR makes one)", abs, why), nil)
	}
	in := &Installer{dir: abs, o: o}
	_, errLock := os.Lstat(in.LockPath())
	_, errState := os.Lstat(filepath.Join(abs, stateDir))
	if errors.Is(errLock, fs.ErrNotExist) && errors.Is(errState, fs.ErrNotExist) {
		return nil, in.noLock()
	}
	return in, nil
}

// noLock is the refusal of a plugin directory without a lock file: the
// plugins in it, if any, were put there by hand.
func (in *Installer) noLock() error {
	msg := fmt.Sprintf("%s has no lock file %s: nothing was ever installed there with clawd-plugin install; check the path", in.dir, lockName)
	if un := in.unlocked(nil); len(un) > 0 {
		msg += fmt.Sprintf("; unlocked plugins (copied in by hand, never verified): %s", strings.Join(un, ", "))
	}
	return clawerr.New(clawerr.NotFound, "", "open", msg, nil)
}

// unlocked lists the plugin directories of the plugin directory (what the
// host's discovery would load: a subdirectory, or a link to one, holding
// a manifest) that the lock file does not record.
func (in *Installer) unlocked(lock *lockfile.Lock) []string {
	ents, err := os.ReadDir(in.dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, de := range ents {
		n := de.Name()
		if n == stateDir || lock != nil && lock.Plugins[n] != nil {
			continue
		}
		sub := filepath.Join(in.dir, n)
		if st, err := os.Stat(sub); err != nil || !st.IsDir() {
			continue
		}
		if _, err := manifest.Find(sub); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// Dir is the plugin directory.
func (in *Installer) Dir() string { return in.dir }

// LockPath is the lock file's path.
func (in *Installer) LockPath() string { return filepath.Join(in.dir, lockName) }

func (in *Installer) step(name string) error {
	if in.o.failAt != nil {
		return in.o.failAt(name)
	}
	return nil
}

// Result is what an install, update or rollback did.
type Result struct {
	Name     string
	Version  string
	Previous string // the version replaced, "" if none
	Granted  []string
	Changed  bool  // false: the version asked for was already installed, or nothing newer
	Err      error // Update: why this plugin was not updated (the others were tried)
}

// Install installs spec, NAME or NAME@CONSTRAINT (see the package doc),
// from the index: the newest non-yanked version that matches and runs
// here. An installed version is replaced (and kept for rollback).
func (in *Installer) Install(ctx context.Context, spec string) (*Result, error) {
	name, cons, _ := strings.Cut(spec, "@")
	if err := lockfile.CheckName(name); err != nil {
		return nil, err
	}
	c, err := parseConstraint(cons)
	if err != nil {
		return nil, clawerr.New(clawerr.InvalidArgument, name, "install", fmt.Sprintf("%q: %v", spec, err), nil)
	}
	s, err := in.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer s.end()
	lock, err := s.readLock()
	if err != nil {
		return nil, err
	}
	src, idx, st, err := in.index(ctx, lock)
	if err != nil {
		return nil, err
	}
	rel, err := in.pick(idx, name, c)
	if err != nil {
		return nil, err
	}
	if old := lock.Plugins[name]; old != nil && old.Version == rel.Version && old.ArchiveSHA256 == rel.SHA256 {
		if err := old.Check(filepath.Join(in.dir, name)); err == nil {
			lock.Indexes[sigkey.KeyID(in.o.indexKey)] = st
			return &Result{Name: name, Version: rel.Version, Granted: old.Capabilities}, s.writeLock(lock)
		}
	}
	pub, _ := sigkey.ParsePublicKey(idx.Keys[rel.PublisherKey])
	return s.installRelease(ctx, lock, src.text, st, sigkey.KeyID(in.o.indexKey), rel, pub,
		func(w io.Writer) (int64, error) {
			return src.get(ctx, rel.Archive, rel.Size, rel.Size, w, in.o.progress)
		})
}

// InstallFile installs the package file at path, signed (path.sig) by one
// of the WithPublisherKeys keys.
func (in *Installer) InstallFile(ctx context.Context, path string) (*Result, error) {
	if len(in.o.publishers) == 0 {
		return nil, clawerr.New(clawerr.SignatureInvalid, "", "install", path+": no publisher key to verify the package with", nil)
	}
	p, err := pkgindex.DescribeBounded(path, in.o.publishers, in.o.maxPackage, in.o.limits)
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(path)
	rel := p.Release
	if err := lockfile.CheckName(rel.Name); err != nil {
		return nil, err
	}
	s, err := in.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer s.end()
	lock, err := s.readLock()
	if err != nil {
		return nil, err
	}
	if !rel.Serves(in.o.goos, in.o.goarch) {
		return nil, clawerr.New(clawerr.Incompatible, rel.Name, "install", fmt.Sprintf("%s %s has no build for %s/%s (it has: %s)", rel.Name, rel.Version, in.o.goos, in.o.goarch, strings.Join(rel.Platforms, ", ")), nil)
	}
	return s.installRelease(ctx, lock, abs, lockfile.IndexState{}, "", rel, p.PublisherKey, func(w io.Writer) (int64, error) {
		f, err := os.Open(abs)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		return io.Copy(w, io.LimitReader(f, rel.Size))
	})
}

// Update updates the named plugins, each NAME or NAME@CONSTRAINT (every
// plugin installed from an index if none; from the WithIndex index, or
// else the one they were installed from) to the newest version the index
// offers that matches and runs here. A new
// version is tried (Trial) before it replaces the installed one, which is
// kept for Rollback; one that asks for capabilities not granted before is
// asked for consent again.
func (in *Installer) Update(ctx context.Context, specs ...string) ([]Result, error) {
	for _, spec := range specs {
		n, _, _ := strings.Cut(spec, "@")
		if err := lockfile.CheckName(n); err != nil {
			return nil, err
		}
	}
	s, err := in.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer s.end()
	lock, err := s.readLock()
	if err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		for _, n := range lock.Names() {
			if e := lock.Plugins[n]; e.Source != "" && !strings.HasSuffix(e.Source, ".tar.gz") {
				specs = append(specs, n)
			}
		}
	}
	type want struct {
		name string
		c    constraint
	}
	var wants []want
	for _, spec := range specs {
		n, cons, _ := strings.Cut(spec, "@")
		c, err := parseConstraint(cons)
		if err != nil {
			return nil, clawerr.New(clawerr.InvalidArgument, n, "update", fmt.Sprintf("%q: %v", spec, err), nil)
		}
		if lock.Plugins[n] == nil {
			return nil, clawerr.New(clawerr.NotFound, n, "update", n+" is not installed in "+in.dir, nil)
		}
		wants = append(wants, want{n, c})
	}
	src, idx, st, err := in.index(ctx, lock)
	if err != nil {
		return nil, err
	}
	// One plugin's refusal does not stop the others: each has its Result,
	// and the error joins every refusal.
	var out []Result
	var errs []error
	for _, w := range wants {
		cur := lock.Plugins[w.name]
		res := Result{Name: w.name, Version: cur.Version, Granted: cur.Capabilities}
		rel, err := in.pick(idx, w.name, w.c)
		if err == nil {
			cv, _ := parseVersion(cur.Version)
			nv, _ := parseVersion(rel.Version)
			if nv.Compare(cv) <= 0 {
				out = append(out, res)
				continue
			}
			pub, _ := sigkey.ParsePublicKey(idx.Keys[rel.PublisherKey])
			var r *Result
			r, err = s.installRelease(ctx, lock, src.text, st, sigkey.KeyID(in.o.indexKey), rel, pub,
				func(w io.Writer) (int64, error) {
					return src.get(ctx, rel.Archive, rel.Size, rel.Size, w, in.o.progress)
				})
			if err == nil {
				res = *r
			}
		}
		if err != nil {
			res.Err = err
			errs = append(errs, err)
		}
		out = append(out, res)
		if lock, err = s.readLock(); err != nil {
			return out, err
		}
	}
	if len(errs) > 0 {
		return out, errors.Join(errs...)
	}
	// Nothing refused: the index read is a successful one to remember.
	lock.Indexes[sigkey.KeyID(in.o.indexKey)] = st
	return out, s.writeLock(lock)
}

// index reads the configured index, verifies it and refuses one older
// than the lock file remembers (index_stale).
func (in *Installer) index(ctx context.Context, lock *lockfile.Lock) (*source, *pkgindex.Index, lockfile.IndexState, error) {
	var st lockfile.IndexState
	if in.o.indexKey == nil {
		return nil, nil, st, clawerr.New(clawerr.SignatureInvalid, "", "index", "no trusted index key configured", nil)
	}
	loc := in.o.index
	if loc == "" { // the index the installed plugins came from, if they agree on one
		for _, n := range lock.Names() {
			if s := lock.Plugins[n].Source; s != "" && !strings.HasSuffix(s, ".tar.gz") {
				if loc != "" && loc != s {
					return nil, nil, st, clawerr.New(clawerr.InvalidArgument, "", "index",
						fmt.Sprintf("no index given, and the installed plugins come from several (%s, %s)", loc, s), nil)
				}
				loc = s
			}
		}
	}
	src, err := newSource(loc, &in.o)
	if err != nil {
		return nil, nil, st, err
	}
	idx, err := src.fetchIndex(ctx, in.o.indexKey, in.o.maxIndex)
	if err != nil {
		return nil, nil, st, err
	}
	if last, ok := lock.Indexes[sigkey.KeyID(in.o.indexKey)]; ok && idx.Serial < last.Serial {
		return nil, nil, st, clawerr.New(clawerr.IndexStale, "", "index",
			fmt.Sprintf("%s: serial %d (generated %s) is older than serial %d already seen (from %s): refusing a rolled-back index",
				src.where(pkgindex.IndexFile), idx.Serial, idx.Generated.Format("2006-01-02T15:04:05Z"), last.Serial, last.Source), nil)
	}
	if err := in.step("index"); err != nil {
		return nil, nil, st, err
	}
	return src, idx, lockfile.IndexState{Serial: idx.Serial, Generated: idx.Generated, Source: src.text}, nil
}

// pick returns the newest release of name matching c that runs here.
func (in *Installer) pick(idx *pkgindex.Index, name string, c constraint) (pkgindex.NamedRelease, error) {
	rels, ok := idx.Plugins[name]
	if !ok || name == "" {
		return pkgindex.NamedRelease{}, clawerr.New(clawerr.NotFound, name, "install", fmt.Sprintf("no plugin %q in the index", name), nil)
	}
	sorted := slices.Clone(rels)
	pkgindex.SortReleases(sorted)
	var matched, yanked []string
	for _, r := range sorted {
		v, err := parseVersion(r.Version)
		if err != nil || !c.matches(v) {
			continue
		}
		if r.Yanked {
			yanked = append(yanked, r.Version)
			continue
		}
		matched = append(matched, r.Version)
		if r.ABIVersion != abi.Version {
			continue
		}
		if r.Runtime != string(manifest.RuntimeDylib) && r.Runtime != string(manifest.RuntimeWasm) {
			continue
		}
		if !r.Serves(in.o.goos, in.o.goarch) {
			continue
		}
		return pkgindex.NamedRelease{Name: name, Release: r}, nil
	}
	if len(matched) > 0 {
		return pkgindex.NamedRelease{}, clawerr.New(clawerr.Incompatible, name, "install",
			fmt.Sprintf("%s %s: no build for %s/%s with ABI version %d", name, strings.Join(matched, ", "), in.o.goos, in.o.goarch, abi.Version), nil)
	}
	what := "no version"
	if c.text != "" {
		what = "no version matching " + c.text
	}
	if len(yanked) > 0 {
		what += " (yanked: " + strings.Join(yanked, ", ") + ")"
	}
	return pkgindex.NamedRelease{}, clawerr.New(clawerr.NotFound, name, "install", fmt.Sprintf("%s: %s", name, what), nil)
}

// installRelease downloads, verifies, unpacks, checks, asks, tries and
// commits one release. Nothing is left behind on failure.
func (s *session) installRelease(ctx context.Context, lock *lockfile.Lock, source string, st lockfile.IndexState, indexID string,
	rel pkgindex.NamedRelease, pub ed25519.PublicKey, download func(io.Writer) (int64, error)) (*Result, error) {
	in := s.in
	name := rel.Name
	if err := lockfile.CheckName(name); err != nil { // before any path is built from it
		return nil, err
	}
	if lock.Plugins[name] == nil && s.exists(name) {
		return nil, clawerr.New(clawerr.InvalidArgument, name, "install",
			fmt.Sprintf("%s exists and the lock file does not record it: remove it first, the installer does not replace a plugin it did not install", filepath.Join(in.dir, name)), nil)
	}
	if pub == nil || sigkey.KeyID(pub) != rel.PublisherKey {
		return nil, clawerr.New(clawerr.SignatureInvalid, name, "verify", fmt.Sprintf("publisher key %s: not pinned by the index", rel.PublisherKey), nil)
	}
	if rel.Size > in.o.maxPackage {
		return nil, clawerr.New(clawerr.UnsafeArchive, name, "download", fmt.Sprintf("%s: %d bytes, more than the limit of %d for a package (WithMaxDownload, --max-download)", rel.Archive, rel.Size, in.o.maxPackage), nil)
	}
	// 1. Download to a private temporary file, hashing and checking the
	// signature as it comes.
	tmpName := randName("download-")
	tmp, err := s.sub[stTmp].OpenFile(tmpName, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, clawerr.New(clawerr.Unavailable, name, "download", "a temporary file in "+s.statePath(stTmp), err)
	}
	defer func() { tmp.Close(); s.sub[stTmp].Remove(tmpName) }()
	sum := sha256.New()
	sig := sigkey.NewSignatureCheck(pub, rel.Signature)
	if _, err := download(io.MultiWriter(tmp, sum, sig)); err != nil {
		return nil, asErr(err, name)
	}
	if err := in.step("download"); err != nil {
		return nil, err
	}
	// 2. Verify before anything reads the archive.
	if got := hex.EncodeToString(sum.Sum(nil)); got != rel.SHA256 {
		return nil, clawerr.New(clawerr.ChecksumMismatch, name, "verify", fmt.Sprintf("%s: sha256 is %s, the index pins %s", rel.Archive, got, rel.SHA256), nil)
	}
	if !sig.Valid() {
		return nil, clawerr.New(clawerr.SignatureInvalid, name, "verify", fmt.Sprintf("%s: the signature does not verify with the publisher key %s the index pins", rel.Archive, rel.PublisherKey), nil)
	}
	if err := in.step("verify"); err != nil {
		return nil, err
	}
	// 3. Unpack into staging, on the plugin directory's file system. The
	// installed directory is readable as any other (0755).
	stName, stRoot, err := s.mkTemp(stStaging, name+"-", 0o755)
	if err != nil {
		return nil, asErr(err, name)
	}
	defer stRoot.Close()
	staging := s.statePath(stStaging, stName)
	// Gone on success (moved into place); on a refusal, or a commit
	// undone, it holds the version refused.
	defer s.sub[stStaging].RemoveAll(stName)
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	files, err := archive.ExtractRoot(tmp, stRoot, in.o.limits)
	if err != nil {
		return nil, asErr(err, name)
	}
	if err := in.step("extract"); err != nil {
		return nil, err
	}
	// 4. The manifest inside must be what the index described.
	m, err := in.checkManifest(staging, rel, files)
	if err != nil {
		return nil, err
	}
	if err := in.step("manifest"); err != nil {
		return nil, err
	}
	// 5. Consent to what was not granted before.
	old := lock.Plugins[name]
	var granted []string
	if old != nil {
		granted = old.Capabilities
	}
	var fresh []abi.Capability
	for _, c := range m.Capabilities {
		if !slices.Contains(granted, string(c)) {
			fresh = append(fresh, c)
		}
	}
	if len(fresh) > 0 {
		ok := false
		if in.o.consent != nil {
			ok, err = in.o.consent(ctx, Request{Name: name, Version: m.Version, Capabilities: m.Capabilities, New: fresh})
			if err != nil {
				return nil, clawerr.New(clawerr.ConsentRequired, name, "consent", "asking for consent", err)
			}
		}
		if !ok {
			why := "the answer was no"
			if in.o.consent == nil {
				why = "nobody could be asked (no terminal)"
			}
			return nil, clawerr.New(clawerr.ConsentRequired, name, "consent",
				fmt.Sprintf("%s %s asks for %s, not granted: %s; nothing was installed. Run again on a terminal to be asked, or with --yes to grant them (Go: install.WithConsent)",
					name, m.Version, capList(fresh), why), nil)
		}
	}
	caps := make([]string, len(m.Capabilities))
	for i, c := range m.Capabilities {
		caps[i] = string(c)
	}
	sort.Strings(caps)
	if err := in.step("consent"); err != nil {
		return nil, err
	}
	// 6. Try it.
	if in.o.trial != nil {
		scratch, sr, err := s.mkTemp(stTmp, "trial-", 0o700)
		if err != nil {
			return nil, asErr(err, name)
		}
		sr.Close()
		err = in.o.trial(ctx, m, m.Capabilities, s.statePath(stTmp, scratch))
		s.sub[stTmp].RemoveAll(scratch)
		if err != nil {
			return nil, asErr(err, name)
		}
	}
	if err := in.step("trial"); err != nil {
		return nil, err
	}
	tree, err := archive.ReadTreeRoot(stRoot, 0)
	if err != nil {
		return nil, asErr(err, name)
	}
	entry := &lockfile.Entry{Name: name, Version: m.Version, Runtime: rel.Runtime, Source: source, ArchiveSHA256: rel.SHA256,
		ContentSHA256: tree.Hash(), PublisherKey: rel.PublisherKey, Capabilities: caps, Files: tree, Installed: in.o.now().UTC().Truncate(1e9)}
	if old != nil && s.exists(name) { // nothing to keep if the installed version is gone
		prev := *old
		prev.Previous = nil
		entry.Previous = &prev
	}
	newLock := *lock
	newLock.Plugins = maps(lock.Plugins)
	newLock.Indexes = mapsIdx(lock.Indexes)
	newLock.Plugins[name] = entry
	if indexID != "" {
		newLock.Indexes[indexID] = st
	}
	// 7. Commit: the installed version (if any) to backup, staging into
	// place, the lock file, backup to previous; under a journal.
	stRoot.Close()
	if err := s.run(&journal{Op: opInstall, Name: name, Staging: stName}, &newLock); err != nil {
		return nil, err
	}
	r := &Result{Name: name, Version: m.Version, Granted: caps, Changed: true}
	if old != nil {
		r.Previous = old.Version
	}
	return r, nil
}

func maps(m map[string]*lockfile.Entry) map[string]*lockfile.Entry {
	out := make(map[string]*lockfile.Entry, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mapsIdx(m map[string]lockfile.IndexState) map[string]lockfile.IndexState {
	out := make(map[string]lockfile.IndexState, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func capList(cs []abi.Capability) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// asErr gives err the plugin's name if it has a code, and a code if not.
func asErr(err error, name string) error {
	var ce *clawerr.Error
	if errors.As(err, &ce) {
		if ce.Plugin == "" {
			c := *ce
			c.Plugin = name
			return &c
		}
		return err
	}
	if clawerr.CodeOf(err) != "" {
		return err
	}
	return clawerr.New(clawerr.Unavailable, name, "install", "", err)
}

// checkManifest loads the unpacked manifest and compares it with the
// index entry; every file must be one the manifest lists.
func (in *Installer) checkManifest(dir string, rel pkgindex.NamedRelease, files []string) (*manifest.Manifest, error) {
	m, err := manifest.LoadDir(dir)
	if err != nil {
		if clawerr.CodeOf(err) == clawerr.ManifestInvalid && strings.Contains(err.Error(), "no entry for") {
			return nil, clawerr.New(clawerr.Incompatible, rel.Name, "install", "the package has no entry for "+in.o.goos+"/"+in.o.goarch, err)
		}
		return nil, asErr(err, rel.Name)
	}
	bad := func(format string, args ...any) error {
		return clawerr.New(clawerr.ManifestInvalid, rel.Name, "install", "the package's manifest disagrees with the index: "+fmt.Sprintf(format, args...), nil)
	}
	rt := string(m.Runtime)
	if rt == "" {
		rt = string(manifest.RuntimeDylib)
	}
	caps := make([]string, len(m.Capabilities))
	for i, c := range m.Capabilities {
		caps[i] = string(c)
	}
	sort.Strings(caps)
	want := slices.Clone(rel.Capabilities)
	sort.Strings(want)
	switch {
	case m.Name != rel.Name:
		return nil, bad("name %q, the index says %q", m.Name, rel.Name)
	case m.Version != rel.Version:
		return nil, bad("version %q, the index says %q", m.Version, rel.Version)
	case rt != rel.Runtime:
		return nil, bad("runtime %q, the index says %q", rt, rel.Runtime)
	case !slices.Equal(caps, want):
		return nil, bad("capabilities [%s], the index says [%s]", strings.Join(caps, ", "), strings.Join(want, ", "))
	}
	listed := []string{filepath.Base(m.Path)}
	for _, e := range m.Entries {
		listed = append(listed, filepath.ToSlash(filepath.Clean(filepath.FromSlash(e))))
	}
	listed = append(listed, filepath.ToSlash(filepath.Clean(filepath.FromSlash(m.Entry))))
	for _, f := range m.Files {
		listed = append(listed, filepath.ToSlash(filepath.Clean(filepath.FromSlash(f))))
	}
	for _, f := range files {
		if !slices.Contains(listed, f) {
			return nil, clawerr.New(clawerr.UnsafeArchive, rel.Name, "install", fmt.Sprintf("%s: in the package but not listed by its manifest", f), nil)
		}
	}
	if st, err := os.Lstat(m.EntryPath()); err != nil || !st.Mode().IsRegular() {
		return nil, clawerr.New(clawerr.Incompatible, rel.Name, "install", fmt.Sprintf("entry %s for %s/%s: not in the package", m.Entry, in.o.goos, in.o.goarch), err)
	}
	return m, nil
}

// Rollback restores the version an update replaced; the version it
// replaces becomes the one kept, so a second Rollback undoes the first.
// A kept version whose files changed is refused (checksum_mismatch).
func (in *Installer) Rollback(name string) (*Result, error) {
	if err := lockfile.CheckName(name); err != nil {
		return nil, err
	}
	s, err := in.begin(context.Background())
	if err != nil {
		return nil, err
	}
	defer s.end()
	lock, err := s.readLock()
	if err != nil {
		return nil, err
	}
	cur := lock.Plugins[name]
	if cur == nil {
		return nil, clawerr.New(clawerr.NotFound, name, "rollback", name+" is not installed in "+in.dir, nil)
	}
	prev := filepath.Join(stateDir, stPrevious, name)
	if cur.Previous == nil || !s.exists(prev) {
		return nil, clawerr.New(clawerr.NotFound, name, "rollback", "no previous version of "+name+" kept", nil)
	}
	if err := cur.Previous.Check(filepath.Join(in.dir, prev)); err != nil {
		return nil, err
	}
	// The kept version moves into place and the installed one is kept:
	// the lock swaps the two entries.
	back := *cur.Previous
	back.Previous = nil
	if s.exists(name) { // nothing to keep if the installed version is gone
		now := *cur
		now.Previous = nil
		back.Previous = &now
	}
	newLock := *lock
	newLock.Plugins = maps(lock.Plugins)
	newLock.Plugins[name] = &back
	if err := s.run(&journal{Op: opRollback, Name: name}, &newLock); err != nil {
		return nil, err
	}
	return &Result{Name: name, Version: back.Version, Previous: cur.Version, Granted: back.Capabilities, Changed: true}, nil
}

// Remove uninstalls name: its directory, its kept previous version and
// its lock entry.
func (in *Installer) Remove(name string) error {
	if err := lockfile.CheckName(name); err != nil {
		return err
	}
	s, err := in.begin(context.Background())
	if err != nil {
		return err
	}
	defer s.end()
	lock, err := s.readLock()
	if err != nil {
		return err
	}
	if lock.Plugins[name] == nil {
		return clawerr.New(clawerr.NotFound, name, "remove", fmt.Sprintf("%q is not installed in %s", name, in.dir), nil)
	}
	newLock := *lock
	newLock.Plugins = maps(lock.Plugins)
	delete(newLock.Plugins, name)
	return s.run(&journal{Op: opRemove, Name: name}, &newLock)
}

// Installed is one row of List.
type Installed struct {
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	Runtime      string   `json:"runtime"`
	Source       string   `json:"source"`
	Capabilities []string `json:"capabilities"`
	Previous     string   `json:"previous,omitempty"` // the version kept for rollback
	Matches      bool     `json:"matches"`            // the files are what the lock records
	Problem      string   `json:"problem,omitempty"`  // what differs, when not
}

// List lists the installed plugins, each checked against its lock entry.
func (in *Installer) List() ([]Installed, error) {
	s, err := in.beginRead(context.Background())
	if err != nil {
		return nil, err
	}
	defer s.end()
	lock, err := s.readLock()
	if err != nil {
		return nil, err
	}
	out := []Installed{}
	for _, n := range lock.Names() {
		e := lock.Plugins[n]
		row := Installed{Name: n, Version: e.Version, Runtime: e.Runtime, Source: e.Source, Capabilities: e.Capabilities, Matches: true}
		if row.Capabilities == nil {
			row.Capabilities = []string{}
		}
		if e.Previous != nil {
			row.Previous = e.Previous.Version
		}
		if err := e.Check(filepath.Join(in.dir, n)); err != nil {
			row.Matches, row.Problem = false, err.Error()
		}
		out = append(out, row)
	}
	return out, nil
}

// Verify checks the installed tree of each named plugin (all if none)
// against the lock file: checksum_mismatch naming each changed, missing or
// added file (a plugin directory replaced by a link is one too). Without
// names, each plugin in the directory that the lock file does not record
// (copied in by hand: the host would load it unchecked) is not_found.
// (Open refuses a directory without a lock file.)
func (in *Installer) Verify(names ...string) error {
	for _, n := range names {
		if err := lockfile.CheckName(n); err != nil {
			return err
		}
	}
	s, err := in.beginRead(context.Background())
	if err != nil {
		return err
	}
	defer s.end()
	lock, err := s.readLock()
	if err != nil {
		return err
	}
	var errs []error
	if len(names) == 0 {
		names = lock.Names()
		for _, n := range in.unlocked(lock) {
			errs = append(errs, clawerr.New(clawerr.NotFound, n, "verify", fmt.Sprintf(
				"%s is in %s but not in its lock file: unlocked (copied in by hand?), the host would load it unchecked: install it with clawd-plugin install, or move it out",
				n, in.dir), nil))
		}
	}
	for _, n := range names {
		e := lock.Plugins[n]
		if e == nil {
			errs = append(errs, clawerr.New(clawerr.NotFound, n, "verify", n+" is not installed in "+in.dir, nil))
			continue
		}
		if err := e.Check(filepath.Join(in.dir, n)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Match is one row of Search: a plugin and its versions, newest first.
type Match struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Latest      string   `json:"latest"` // the newest non-yanked version that runs here, "" if none
	Versions    []string `json:"versions"`
}

// Search lists the index's plugins whose name or description contains
// term (case-insensitive; "" lists all).
func (in *Installer) Search(ctx context.Context, term string) ([]Match, error) {
	s, err := in.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer s.end()
	lock, err := s.readLock()
	if err != nil {
		return nil, err
	}
	_, idx, _, err := in.index(ctx, lock)
	if err != nil {
		return nil, err
	}
	t := strings.ToLower(term)
	out := []Match{}
	names := make([]string, 0, len(idx.Plugins))
	for n := range idx.Plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rels := slices.Clone(idx.Plugins[n])
		pkgindex.SortReleases(rels)
		desc := ""
		if len(rels) > 0 {
			desc = rels[0].Description
		}
		if !strings.Contains(strings.ToLower(n), t) && !strings.Contains(strings.ToLower(desc), t) {
			continue
		}
		m := Match{Name: n, Description: desc, Versions: []string{}}
		for _, r := range rels {
			v := r.Version
			if r.Yanked {
				v += " (yanked)"
			}
			m.Versions = append(m.Versions, v)
		}
		if r, err := in.pick(idx, n, constraint{}); err == nil {
			m.Latest = r.Version
		}
		out = append(out, m)
	}
	return out, nil
}

// trialOpen is the default Trial: the entry is verified into a copy
// (its format checked) and opened once, a native library in a child
// process (the "process" runtime: a crash or a hang is contained; the
// program must call isolate.Main first thing in main), a WebAssembly
// module by the wasm runtime; then closed.
func trialOpen(ctx context.Context, m *manifest.Manifest, caps []abi.Capability, scratch string) error {
	v, err := manifest.Trust{Policy: manifest.PolicyOff}.Verify(m, scratch)
	if err != nil {
		return err
	}
	defer os.Remove(v.Path)
	rt, _, err := m.Placement(manifest.SandboxProcess) // a shared library on trial is always contained
	if err != nil {
		return err
	}
	p, err := clawd.Open(rt, v.Path, clawd.WithCapabilities(caps...), clawd.WithPluginDir(m.Dir),
		clawd.WithSource(m.EntryPath()), clawd.WithIdentity(m.Name, m.Version))
	if err != nil {
		return err
	}
	return p.Close()
}
