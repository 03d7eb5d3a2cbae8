package pkgindex

import (
	"bytes"
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

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/archive"
	"github.com/clawd-go/clawd/internal/libfile"
	"github.com/clawd-go/clawd/internal/lockfile"
	"github.com/clawd-go/clawd/manifest"
)

// Package is what DescribePackage and Pack report of a package file.
type Package struct {
	Path         string            // the archive
	Release      NamedRelease      // its index entry
	PublisherKey ed25519.PublicKey // the key its signature verified with
	Files        []string          // the files it holds, sorted
	// LeftOut are the entries of the manifest's entry table that Pack
	// left out because they are not built (no file), as "entry.KEY (PATH)".
	LeftOut []string
}

// Name and Version of the package's plugin.
func (p *Package) Name() string    { return p.Release.Name }
func (p *Package) Version() string { return p.Release.Version }

// packagePlatforms are the platforms a single-entry library is tried
// against. An ELF library is taken as Linux: a FreeBSD one must be named
// in an entry table (freebsd_amd64 = "...").
var packagePlatforms = []string{"linux/amd64", "linux/arm64", "linux/386", "linux/arm", "linux/riscv64",
	"linux/ppc64le", "linux/s390x", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64", "windows/386"}

// Pack writes the package of the plugin in dir to out (a deterministic
// tar.gz: the manifest, every entry of its entry table, its files, nothing
// else) and its signature by key to out.sig. Both are written through
// temporary files and renames (out's directory is created if missing);
// a refusal leaves neither.
func Pack(dir, out string, key ed25519.PrivateKey) (*Package, error) {
	m, err := manifest.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	files := []archive.File{{Name: filepath.Base(m.Path), Path: m.Path}}
	add := func(rel string) {
		name := filepath.ToSlash(filepath.Clean(filepath.FromSlash(rel)))
		if !slices.ContainsFunc(files, func(f archive.File) bool { return f.Name == name }) {
			files = append(files, archive.File{Name: name, Path: filepath.Join(m.Dir, filepath.FromSlash(rel))})
		}
	}
	// An entry table names every platform the project builds for; one
	// machine usually builds some of them. The entries not built (no file
	// there) are left out and named; the package serves the others. One
	// that is there but not a regular file is still refused below.
	var leftOut []string
	if m.Entries != nil {
		for _, k := range sortedKeys(m.Entries) {
			rel := m.Entries[k]
			if _, err := os.Lstat(filepath.Join(m.Dir, filepath.FromSlash(rel))); errors.Is(err, fs.ErrNotExist) {
				leftOut = append(leftOut, fmt.Sprintf("entry.%s (%s)", k, rel))
				continue
			}
			add(rel)
		}
		if len(leftOut) == len(m.Entries) {
			return nil, clawerr.New(clawerr.NotFound, m.Name, "pack", fmt.Sprintf(
				"no entry of the manifest is built (%s): build the plugin first", strings.Join(leftOut, ", ")), nil)
		}
	} else {
		add(m.Entry)
	}
	for _, f := range m.Files {
		add(f)
	}
	for _, f := range files {
		if err := archive.CheckName(f.Name); err != nil {
			return nil, clawerr.New(clawerr.ManifestInvalid, m.Name, "pack", err.Error(), nil)
		}
		st, err := os.Lstat(f.Path)
		if err != nil {
			return nil, clawerr.New(clawerr.NotFound, m.Name, "pack", fmt.Sprintf("%s: listed by the manifest but not readable", f.Name), err)
		}
		if !st.Mode().IsRegular() {
			return nil, clawerr.New(clawerr.UnsafeArchive, m.Name, "pack", fmt.Sprintf("%s: not a regular file (%v); packages hold regular files only", f.Name, st.Mode().Type()), nil)
		}
	}
	var buf bytes.Buffer
	if err := archive.Write(&buf, files); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	sig := NewSigFile(key, data)
	// Describe what was written before publishing it: pack never writes a
	// package the installer would refuse.
	tmp, err := os.MkdirTemp("", "clawd-pack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	p, err := describe(bytes.NewReader(data), int64(len(data)), sig, tmp, filepath.Base(out), nil, archive.Limits{})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	if err := lockfile.WriteFileAtomic(out, data, 0o644); err != nil {
		return nil, err
	}
	if err := lockfile.WriteFileAtomic(out+SigSuffix, sig, 0o644); err != nil {
		os.Remove(out)
		return nil, err
	}
	p.Path = out
	p.LeftOut = leftOut
	return p, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// DescribePackage verifies the package at path with its signature file
// (path.sig) and returns its index entry. With publishers, the signature
// must verify with one of them; without, with the key the signature file
// names.
// A package larger than MaxPackageSize is refused before it is read.
func DescribePackage(path string, publishers []ed25519.PublicKey) (*Package, error) {
	return DescribeBounded(path, publishers, MaxPackageSize, archive.Limits{})
}

// DescribeBounded is DescribePackage with the installer's bounds: a file
// larger than max is refused before it is read (unsafe_archive), the
// archive unpacks within lim.
func DescribeBounded(path string, publishers []ed25519.PublicKey, max int64, lim archive.Limits) (*Package, error) {
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && st.Size() > max {
		return nil, clawerr.New(clawerr.UnsafeArchive, "", "install", fmt.Sprintf("%s: %d bytes, more than the limit of %d for a package", path, st.Size(), max), nil)
	}
	data, err := readSmall(path, max)
	if err != nil {
		return nil, clawerr.New(clawerr.NotFound, "", "index", path, err)
	}
	sig, err := readSmall(path+SigSuffix, MaxSigSize)
	if err != nil {
		return nil, clawerr.New(clawerr.SignatureInvalid, "", "index", fmt.Sprintf("%s: no signature file", path+SigSuffix), err)
	}
	tmp, err := os.MkdirTemp("", "clawd-index-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	p, err := describe(bytes.NewReader(data), int64(len(data)), sig, tmp, filepath.Base(path), publishers, lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.Path = path
	return p, nil
}

// readSmall reads a regular file of at most max bytes (opening a FIFO
// would block: it is looked at first).
func readSmall(path string, max int64) ([]byte, error) {
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() || st.Size() > max {
		return nil, fmt.Errorf("%s: not a regular file of at most %d bytes", path, max)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return b, nil
}

// describe verifies and unpacks one package into scratch and builds its
// release.
func describe(r io.ReaderAt, size int64, sigData []byte, scratch, archiveName string, publishers []ed25519.PublicKey, lim archive.Limits) (*Package, error) {
	s, err := ParseSigFile(sigData, archiveName+SigSuffix)
	if err != nil {
		return nil, err
	}
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && err != io.EOF {
		return nil, err
	}
	var key ed25519.PublicKey
	if len(publishers) == 0 {
		k, err := sigkey.ParsePublicKey(s.PublicKey)
		if err != nil || sigkey.KeyID(k) != s.KeyID {
			return nil, clawerr.New(clawerr.SignatureInvalid, "", "index", archiveName+SigSuffix+": names no valid key", err)
		}
		if checkSig(k, data, s.Signature) {
			key = k
		}
	}
	for _, k := range publishers {
		if checkSig(k, data, s.Signature) {
			key = k
			break
		}
	}
	if key == nil {
		return nil, clawerr.New(clawerr.SignatureInvalid, "", "index", archiveName+": the signature does not verify with the publisher's key", nil)
	}
	names, err := archive.Extract(bytes.NewReader(data), scratch, lim)
	if err != nil {
		return nil, err
	}
	m, err := manifest.LoadDir(scratch)
	if err != nil {
		return nil, err
	}
	if err := lockfile.CheckName(m.Name); err != nil { // an index or a plugin directory names it
		return nil, err
	}
	plats, err := platforms(m)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	caps := make([]string, len(m.Capabilities))
	for i, c := range m.Capabilities {
		caps[i] = string(c)
	}
	sort.Strings(caps)
	rt := string(m.Runtime)
	if rt == "" {
		rt = string(manifest.RuntimeDylib)
	}
	return &Package{
		Release: NamedRelease{Name: m.Name, Release: Release{Version: m.Version, Runtime: rt, ABIVersion: abi.Version,
			Capabilities: caps, Platforms: plats, Description: m.Description, Archive: archiveName, Size: size,
			SHA256: hex.EncodeToString(sum[:]), Signature: s.Signature, PublisherKey: sigkey.KeyID(key)}},
		PublisherKey: key,
		Files:        names,
	}, nil
}

// platforms lists the platforms the unpacked package m serves: what each
// entry's bytes are a library for. An entry table key GOOS_GOARCH must
// match its library; a key GOOS takes the machines its library is for.
func platforms(m *manifest.Manifest) ([]string, error) {
	if m.Runtime == manifest.RuntimeWasm {
		return []string{PlatformAny}, nil
	}
	check := func(rel, goos, goarch string) (bool, error) {
		f, err := os.Open(filepath.Join(m.Dir, filepath.FromSlash(rel)))
		if err != nil {
			return false, clawerr.New(clawerr.Incompatible, m.Name, "pack", fmt.Sprintf("entry %s: missing from the package", rel), err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return false, err
		}
		return libfile.Matches(f, st.Size(), goos, goarch), nil
	}
	var out []string
	try := func(rel, key string) error {
		found := false
		for _, p := range packagePlatforms {
			goos, goarch, _ := strings.Cut(p, "/")
			if key != "" {
				kos, karch, hasArch := strings.Cut(key, "_")
				if kos != goos || hasArch && karch != goarch {
					continue
				}
			}
			ok, err := check(rel, goos, goarch)
			if err != nil {
				return err
			}
			if ok {
				found = true
				out = append(out, p)
			}
		}
		if kos, karch, hasArch := strings.Cut(key, "_"); hasArch && !found {
			ok, err := check(rel, kos, karch)
			if err != nil {
				return err
			}
			if !ok {
				return clawerr.New(clawerr.Incompatible, m.Name, "pack", fmt.Sprintf("entry.%s: %s is not a library for %s/%s", key, rel, kos, karch), nil)
			}
			out = append(out, kos+"/"+karch)
			found = true
		}
		if !found {
			return clawerr.New(clawerr.Incompatible, m.Name, "pack", fmt.Sprintf("entry %s: not a shared library for any platform this host knows", rel), nil)
		}
		return nil
	}
	if m.Entries == nil {
		if err := try(m.Entry, ""); err != nil {
			return nil, err
		}
	} else {
		// An entry the package does not hold (pack left out what was not
		// built) serves no platform; at least one must be there.
		held := 0
		for _, k := range sortedKeys(m.Entries) {
			if _, err := os.Lstat(filepath.Join(m.Dir, filepath.FromSlash(m.Entries[k]))); errors.Is(err, fs.ErrNotExist) {
				continue
			}
			held++
			if err := try(m.Entries[k], k); err != nil {
				return nil, err
			}
		}
		if held == 0 {
			return nil, clawerr.New(clawerr.Incompatible, m.Name, "pack", "the package holds none of the entries its manifest lists", nil)
		}
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}
