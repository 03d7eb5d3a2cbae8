// The shared build cache: every build whose inputs cbuild can name (the C
// builds, the wasm modules, the layout printers, the examples' Makefile and
// Cargo builds) is kept in a directory shared by every test binary and every
// run, keyed by a SHA-256 of what decides its bytes: the toolchain (its path
// and its version output), the source, every file of include/, the flags
// and the target. `go test ./...` starts dozens of test binaries, and `make
// test` runs them three times: each used to compile every plugin again.
//
// The directory is CacheEnv if set, else clawd-go/cbuild under
// os.UserCacheDir. An entry is <dir>/<key>/<file>, with a sum file beside it
// (<dir>/<key>/.sum-<file>: the key of the file and the SHA-256 of its
// bytes). An entry is used only if the file is a regular file of nonzero
// size whose bytes match its sum; anything else is built again. A build
// runs in a directory of its own under <dir> and its output is renamed into
// place, so test binaries that race on one key each see a whole file.
// Entries unused for CacheMaxAge are removed, at most once a day.

package cbuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// CacheEnv names the directory of the shared build cache (default:
// clawd-go/cbuild under the user cache directory).
const CacheEnv = "CLAWD_CBUILD_CACHE"

// CacheMaxAge is how long an entry nobody uses is kept.
const CacheMaxAge = 30 * 24 * time.Hour

// CacheDir returns the shared cache's directory, creating it (0700: the
// libraries in it are loaded into test processes, so only this user may
// write there).
func CacheDir() (string, error) {
	d := os.Getenv(CacheEnv)
	if d == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("cbuild: no user cache directory (%v): set %s to a directory for the test builds", err, CacheEnv)
		}
		d = filepath.Join(base, "clawd-go", "cbuild")
	}
	d, err := filepath.Abs(d)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("cbuild: cannot make the build cache %s: %v; set %s to a writable directory", d, err, CacheEnv)
	}
	return d, nil
}

// keyHash is the SHA-256 of parts (each ended by a NUL, so that no two
// lists hash alike), with the target machine first.
func keyHash(parts ...string) string {
	h := sha256.New()
	for _, p := range append([]string{runtime.GOOS, runtime.GOARCH}, parts...) {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

var (
	idMu    sync.Mutex
	toolIDs = map[string]string{}
	treeIDs = map[string]string{}
)

// toolID identifies a toolchain: the file its command resolves to and what
// it says when asked for its version. A compiler replaced in place (an
// upgrade) says another version, so its builds are not reused.
func toolID(argv []string, versionArgs ...string) (string, error) {
	k := strings.Join(argv, "\x00") + "\x01" + strings.Join(versionArgs, "\x00")
	idMu.Lock()
	defer idMu.Unlock()
	if id, ok := toolIDs[k]; ok {
		return id, nil
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return "", err
	}
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	out, err := exec.Command(argv[0], append(argv[1:len(argv):len(argv)], versionArgs...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("cbuild: %s %s: %v\n%s", strings.Join(argv, " "), strings.Join(versionArgs, " "), err, out)
	}
	id := path + "\x00" + strings.Join(argv, " ") + "\x00" + string(out)
	toolIDs[k] = id
	return id, nil
}

// ccID is the C compiler's identity.
func ccID() (string, error) { return toolID(CC(), "--version") }

// zigID is Zig's identity.
func zigID(zig []string) (string, error) { return toolID(zig, "version") }

// skippedInTree are the directories and file extensions of build outputs,
// left out of a source tree's hash: `make examples` writes them beside the
// sources, and they do not decide what a build from the sources gives.
var (
	skippedDirs = map[string]bool{"target": true, "zig-out": true, "zig-cache": true, ".zig-cache": true, "build": true}
	skippedExts = map[string]bool{".so": true, ".dylib": true, ".dll": true, ".wasm": true, ".o": true, ".a": true, ".lib": true, ".exe": true}
)

// treeID hashes every regular file under dir (its path relative to dir
// and its bytes), build outputs left out; once per process per dir.
func treeID(dir string) (string, error) {
	idMu.Lock()
	id, ok := treeIDs[dir]
	idMu.Unlock()
	if ok {
		return id, nil
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && skippedDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && !skippedExts[filepath.Ext(p)] {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(data))
		h.Write(data)
	}
	id = hex.EncodeToString(h.Sum(nil))
	idMu.Lock()
	treeIDs[dir] = id
	idMu.Unlock()
	return id, nil
}

// fileID hashes one file's bytes.
func fileID(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:]), nil
}

// includeID hashes the repository's include/ directory: a change to any
// header (or to clawd_plugin_wasm.c, or the Rust and Zig bindings) makes
// every build new.
func includeID(root string) (string, error) { return treeID(filepath.Join(root, "include")) }

// sharedEntry is one build in this process, whatever the cache holds.
type sharedEntry struct {
	once sync.Once
	path string
	err  error
}

var shared = map[string]*sharedEntry{}

// fromCache returns <cache>/<dirKey>/<name>: the cached file if it is
// sound, else what build writes (in a fresh directory it gets), moved
// there. fileKey is the rest of the key, for entries that share a directory
// (the variants of one source): it is checked against the sum file. Each
// key builds at most once per process.
func fromCache(dirKey, name, fileKey string, build func(dir string) (string, error)) (string, error) {
	if !filepath.IsLocal(name) || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("cbuild: output name %q is not a file name", name)
	}
	k := dirKey + "/" + name + "\x00" + fileKey
	mu.Lock()
	e, ok := shared[k]
	if !ok {
		e = &sharedEntry{}
		shared[k] = e
	}
	mu.Unlock()
	e.once.Do(func() { e.path, e.err = fromCacheOnce(dirKey, name, fileKey, build) })
	return e.path, e.err
}

func fromCacheOnce(dirKey, name, fileKey string, build func(dir string) (string, error)) (string, error) {
	root, err := CacheDir()
	if err != nil {
		return "", err
	}
	sweepOnce.Do(func() { sweep(root) })
	dir := filepath.Join(root, dirKey)
	final := filepath.Join(dir, name)
	sumFile := filepath.Join(dir, ".sum-"+name)
	if sound(final, sumFile, fileKey) {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(root, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	built, err := build(work)
	if err != nil {
		return "", err
	}
	fi, err := os.Lstat(built)
	if err != nil {
		return "", fmt.Errorf("cbuild: the build wrote no %s: %v", built, err)
	}
	if !fi.Mode().IsRegular() || fi.Size() == 0 {
		return "", fmt.Errorf("cbuild: the build's output %s is not a regular file of nonzero size (%v, %d bytes)", built, fi.Mode(), fi.Size())
	}
	sum, err := fileID(built)
	if err != nil {
		return "", err
	}
	// The sum first, then the file: a reader that finds the file finds a
	// sum, and a sum that is another racer's fails the check (a rebuild),
	// never passes a wrong file.
	tmpSum := filepath.Join(work, "sum")
	if err := os.WriteFile(tmpSum, []byte(fileKey+"\n"+sum+"\n"), 0o600); err != nil {
		return "", err
	}
	if err := os.Rename(tmpSum, sumFile); err != nil {
		return "", err
	}
	if built != filepath.Join(work, "out") {
		// Into the work directory's top first: the rename into the cache
		// is then one step within one file system.
		if err := os.Rename(built, filepath.Join(work, "out")); err != nil {
			if err := copyFile(built, filepath.Join(work, "out")); err != nil {
				return "", err
			}
		}
	}
	if err := os.Chmod(filepath.Join(work, "out"), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(work, "out"), final); err != nil {
		return "", err
	}
	return final, nil
}

// sound reports whether file is a cache entry to use: a regular file (not
// a link) of nonzero size, whose sum file names fileKey and its bytes. A
// used entry has its time set, so that the sweep keeps it.
func sound(file, sumFile, fileKey string) bool {
	fi, err := os.Lstat(file)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return false
	}
	sfi, err := os.Lstat(sumFile)
	if err != nil || !sfi.Mode().IsRegular() || sfi.Size() > 4096 {
		return false
	}
	want, err := os.ReadFile(sumFile)
	if err != nil {
		return false
	}
	got, err := fileID(file)
	if err != nil || !bytes.Equal(want, []byte(fileKey+"\n"+got+"\n")) {
		return false
	}
	if now := time.Now(); now.Sub(fi.ModTime()) > 24*time.Hour {
		_ = os.Chtimes(file, now, now)
	}
	return true
}

var sweepOnce sync.Once

// sweep removes the entries unused for CacheMaxAge and the work
// directories of builds that died, at most once a day (the time of
// <root>/.swept says when it last ran).
func sweep(root string) {
	mark := filepath.Join(root, ".swept")
	if fi, err := os.Stat(mark); err == nil && time.Since(fi.ModTime()) < 24*time.Hour {
		return
	}
	if f, err := os.Create(mark); err == nil {
		f.Close()
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(root, e.Name())
		if !e.IsDir() {
			continue
		}
		if strings.HasPrefix(e.Name(), ".build-") {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
				os.RemoveAll(p)
			}
			continue
		}
		if newest(p) < time.Now().Add(-CacheMaxAge).Unix() {
			os.RemoveAll(p)
		}
	}
}

// newest is the latest modification time (Unix seconds) of the files in dir.
func newest(dir string) int64 {
	var t int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.ModTime().Unix() > t {
			t = fi.ModTime().Unix()
		}
	}
	return t
}

// Cached runs build at most once per key in the shared cache (and once
// per process) and returns the cached copy of the file it returns, named
// name. key must name everything that decides the file's bytes: use it for
// builds whose inputs the caller can list; Once for any other.
func Cached(tb testing.TB, name string, key []string, build func(dir string) (string, error)) string {
	tb.Helper()
	p, err := fromCache(keyHash(key...), name, "", build)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
