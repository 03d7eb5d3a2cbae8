// Package pkgindex is the publisher's side of plugin packages and the
// format both sides share: packing a plugin directory into a signed
// archive, building and signing an index of packages, and reading them
// back. Package install installs from what it writes; the clawd-plugin
// command packs and indexes with it.
package pkgindex

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/clawd-go/clawd/internal/sigkey"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/lockfile"
	"github.com/clawd-go/clawd/internal/semver"
	"github.com/clawd-go/clawd/manifest"
)

// File names of an index directory.
const (
	IndexFile = "index.json"
	SigSuffix = ".sig" // a detached signature: FILE.sig beside FILE
)

// IndexSchema is the version of the index format.
const IndexSchema = 1

// PlatformAny is the platform of a WebAssembly release: every host.
const PlatformAny = "any"

// Index is the signed list of what an index offers.
type Index struct {
	Schema    int       `json:"schema"`
	Generated time.Time `json:"generated"`
	// Serial grows by at least one with every index written; an installer
	// refuses one older than the last it saw (index_stale).
	Serial uint64 `json:"serial"`
	// Keys are the publishers' public keys by key id (sigkey.KeyID),
	// base64 as keygen writes them: the index pins them.
	Keys    map[string]string    `json:"keys"`
	Plugins map[string][]Release `json:"plugins"` // by name, newest first
}

// Release is one version of a plugin in an index.
type Release struct {
	Version      string   `json:"version"`
	Runtime      string   `json:"runtime"`
	ABIVersion   int      `json:"abi_version"`
	Capabilities []string `json:"capabilities"`
	// Platforms are GOOS/GOARCH pairs the package has an entry for, or
	// PlatformAny for a WebAssembly module.
	Platforms    []string `json:"platforms"`
	Description  string   `json:"description,omitempty"`
	Archive      string   `json:"archive"` // file name beside index.json
	Size         int64    `json:"size"`
	SHA256       string   `json:"sha256"`
	Signature    string   `json:"signature"`     // the publisher's, over the archive's bytes
	PublisherKey string   `json:"publisher_key"` // key id into Index.Keys
	Yanked       bool     `json:"yanked"`
}

// SigFile is the content of a detached signature (FILE.sig): JSON naming
// the key. The key it names is a claim, never trusted: the verifier has
// its own key (the index key) or the index's pin (a publisher key).
type SigFile struct {
	Schema    int    `json:"schema"`
	KeyID     string `json:"key_id"`
	PublicKey string `json:"public_key"`
	Signature string `json:"signature"` // sigkey.Sign's form: base64 Ed25519
}

func NewSigFile(priv ed25519.PrivateKey, data []byte) []byte {
	pub := priv.Public().(ed25519.PublicKey)
	b, _ := json.MarshalIndent(SigFile{Schema: 1, KeyID: sigkey.KeyID(pub), PublicKey: sigkey.EncodePublicKey(pub),
		Signature: sigkey.Sign(priv, data)}, "", "  ")
	return append(b, '\n')
}

func ParseSigFile(data []byte, what string) (SigFile, error) {
	var s SigFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil || s.Signature == "" {
		return s, clawerr.New(clawerr.SignatureInvalid, "", "verify", fmt.Sprintf("%s: not a signature file", what), err)
	}
	return s, nil
}

// checkSig verifies sig over data with key.
func checkSig(key ed25519.PublicKey, data []byte, sig string) bool {
	c := sigkey.NewSignatureCheck(key, sig)
	c.Write(data)
	return c.Valid()
}

// MaxSigSize bounds a signature file.
const MaxSigSize = 4096

// ParseIndex verifies data, signed by sig, with the trusted index key,
// then parses and checks it. Nothing of it is used before the signature
// verifies.
func ParseIndex(data, sig []byte, key ed25519.PublicKey, where string) (*Index, error) {
	s, err := ParseSigFile(sig, where+SigSuffix)
	if err != nil {
		return nil, err
	}
	if !checkSig(key, data, s.Signature) {
		return nil, clawerr.New(clawerr.SignatureInvalid, "", "index",
			fmt.Sprintf("%s: the signature does not verify with the trusted index key %s (the file claims %s)", where, sigkey.KeyID(key), safeText(s.KeyID)), nil)
	}
	// Fields a later version adds are ignored (the schema changes when a
	// field changes meaning).
	var idx Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, clawerr.New(clawerr.ManifestInvalid, "", "index", fmt.Sprintf("%s: not an index: %v", where, err), nil)
	}
	if idx.Schema != IndexSchema {
		return nil, clawerr.New(clawerr.ManifestInvalid, "", "index", fmt.Sprintf("%s: schema %d, this version reads %d", where, idx.Schema, IndexSchema), nil)
	}
	for name, rels := range idx.Plugins {
		if err := lockfile.CheckName(name); err != nil {
			return nil, clawerr.New(clawerr.BadName, "", "index", fmt.Sprintf("%s: %v", where, err), nil)
		}
		for _, r := range rels {
			if err := CheckRelease(name, r, &idx); err != nil {
				return nil, clawerr.New(clawerr.ManifestInvalid, "", "index", fmt.Sprintf("%s: %s %s: %v", where, safeText(name), safeText(r.Version), err), nil)
			}
		}
	}
	return &idx, nil
}

func CheckRelease(name string, r Release, idx *Index) error {
	if err := lockfile.CheckName(name); err != nil {
		return err
	}
	if _, err := semver.Parse(r.Version); err != nil {
		return err
	}
	if !safeFileName(r.Archive) {
		return fmt.Errorf("archive %q is not a plain file name", r.Archive)
	}
	if r.Size <= 0 {
		return fmt.Errorf("size %d", r.Size)
	}
	if len(r.SHA256) != 64 || strings.Trim(r.SHA256, "0123456789abcdef") != "" {
		return fmt.Errorf("sha256 %q is not 64 lowercase hex digits", r.SHA256)
	}
	if _, ok := idx.Keys[r.PublisherKey]; !ok {
		return fmt.Errorf("publisher key %q is not in the index's keys", r.PublisherKey)
	}
	for _, c := range r.Capabilities {
		if !abi.Capability(c).Known() {
			return fmt.Errorf("unknown capability %q", c)
		}
	}
	return nil
}

// safeFileName: letters, digits, . _ + - and not starting with a dot, nor
// the lock file's name: what may name a file in the index directory, or a
// plugin's directory in the plugin directory.
func safeFileName(s string) bool {
	if s == "" || s[0] == '.' || len(s) > 255 || s == lockfile.Name {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") == ""
}

// safeText cuts s to 80 bytes and drops control characters, for messages
// quoting what a server sent.
func safeText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}

// IndexOptions configure BuildIndex.
type IndexOptions struct {
	// Publishers restrict the packages accepted to those signed by these
	// keys. Empty: each package's signature must verify with the key its
	// signature file names, and that key is pinned (the index's signer
	// vouches for what is in its directory).
	Publishers []ed25519.PublicKey
	// Yank marks NAME@VERSION releases yanked (kept, never picked); Unyank
	// clears the mark. Marks of the previous index are kept.
	Yank, Unyank []string
	// Now is the generated time (default time.Now).
	Now func() time.Time
}

// BuildIndex writes DIR/index.json and its signature, listing every
// package (*.tar.gz with its .sig) in dir, signed with key. The serial is
// one more than the previous index's in dir (read with key's public half),
// or 1. A package that does not verify, or whose manifest cannot be read,
// is an error naming it: an index never lists what an installer would
// refuse.
func BuildIndex(dir string, key ed25519.PrivateKey, o IndexOptions) (*Index, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	pub := key.Public().(ed25519.PublicKey)
	idx := &Index{Schema: IndexSchema, Serial: 1, Keys: map[string]string{}, Plugins: map[string][]Release{}}
	yanked := map[string]bool{}
	if data, err := os.ReadFile(filepath.Join(dir, IndexFile)); err == nil {
		sig, _ := os.ReadFile(filepath.Join(dir, IndexFile+SigSuffix))
		old, err := ParseIndex(data, sig, pub, filepath.Join(dir, IndexFile))
		if err != nil {
			return nil, fmt.Errorf("the index already in %s: %w (remove it to start a new one)", dir, err)
		}
		idx.Serial = old.Serial + 1
		for n, rels := range old.Plugins {
			for _, r := range rels {
				if r.Yanked {
					yanked[n+"@"+r.Version] = true
				}
			}
		}
	}
	for _, y := range o.Yank {
		yanked[y] = true
	}
	for _, y := range o.Unyank {
		delete(yanked, y)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, clawerr.New(clawerr.NotFound, "", "index", fmt.Sprintf("index directory %s: not there: check the path, or make it and put the packages (from clawd-plugin pack) in it", dir), err)
		}
		return nil, clawerr.New(clawerr.Unavailable, "", "index", "reading the index directory "+dir, err)
	}
	found := map[string]bool{}
	for _, de := range ents {
		if !strings.HasSuffix(de.Name(), ".tar.gz") || !de.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, de.Name())
		d, err := DescribePackage(p, o.Publishers)
		if err != nil {
			return nil, err
		}
		r := d.Release
		id := r.Name + "@" + r.Version
		if found[id] {
			return nil, clawerr.New(clawerr.ManifestInvalid, r.Name, "index", fmt.Sprintf("%s: %s is in two packages: remove one", p, id), nil)
		}
		found[id] = true
		r.Release.Yanked = yanked[id]
		idx.Keys[r.PublisherKey] = sigkey.EncodePublicKey(d.PublisherKey)
		idx.Plugins[r.Name] = append(idx.Plugins[r.Name], r.Release)
	}
	for _, y := range append(append([]string{}, o.Yank...), o.Unyank...) {
		if !found[y] {
			return nil, clawerr.New(clawerr.NotFound, "", "index", fmt.Sprintf("%s: no package in %s", y, dir), nil)
		}
	}
	for n := range idx.Plugins {
		SortReleases(idx.Plugins[n])
		for _, r := range idx.Plugins[n] {
			if err := CheckRelease(n, r, idx); err != nil { // never write an index an installer refuses
				return nil, clawerr.New(clawerr.ManifestInvalid, n, "index", fmt.Sprintf("%s %s (%s): %v", n, r.Version, r.Archive, err), nil)
			}
		}
	}
	idx.Generated = o.Now().UTC().Truncate(time.Second)
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return nil, err
	}
	data = append(data, '\n')
	if err := lockfile.WriteFileAtomic(filepath.Join(dir, IndexFile+SigSuffix), NewSigFile(key, data), 0o644); err != nil {
		return nil, clawerr.New(clawerr.Unavailable, "", "index", "writing "+filepath.Join(dir, IndexFile+SigSuffix), err)
	}
	if err := lockfile.WriteFileAtomic(filepath.Join(dir, IndexFile), data, 0o644); err != nil {
		return nil, clawerr.New(clawerr.Unavailable, "", "index", "writing "+filepath.Join(dir, IndexFile), err)
	}
	return idx, nil
}

// SortReleases sorts newest first.
func SortReleases(rs []Release) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, _ := semver.Parse(rs[i].Version)
		b, _ := semver.Parse(rs[j].Version)
		return a.Compare(b) > 0
	})
}

// NamedRelease is a release and the plugin name it is listed under.
type NamedRelease struct {
	Name string
	Release
}

// platformString is a GOOS/GOARCH pair as Release.Platforms holds it.
func platformString(goos, goarch string) string { return goos + "/" + goarch }

// serves reports whether r runs on goos/goarch.
func (r Release) Serves(goos, goarch string) bool {
	if r.Runtime == string(manifest.RuntimeWasm) {
		return slices.Contains(r.Platforms, PlatformAny)
	}
	return slices.Contains(r.Platforms, platformString(goos, goarch))
}

// MaxPackageSize is the default bound on a package file.
const MaxPackageSize int64 = 256 << 20
