package install

import (
	"archive/tar"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"github.com/clawd-go/clawd/internal/sigkey"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/lockfile"
	"github.com/clawd-go/clawd/internal/pkgindex"
)

// sources serves the world's index from its directory, a file:// URL and
// an https server.
func sources(t *testing.T, w *world) map[string][]Option {
	srv := httptest.NewTLSServer(http.FileServer(http.Dir(w.idxDir)))
	t.Cleanup(srv.Close)
	return map[string][]Option{
		"dir":   {WithIndex(w.idxDir)},
		"file":  {WithIndex(fileURL(w.idxDir))},
		"https": {WithIndex(srv.URL + "/"), WithHTTPClient(srv.Client())},
	}
}

func TestLifecycleNative(t *testing.T) {
	for _, src := range []string{"dir", "file", "https"} {
		t.Run(src, func(t *testing.T) {
			w := newWorld(t)
			w.publish(w.native("1.0.0", "network.relay"))
			in := w.installer(sources(t, w)[src]...)

			r, err := in.Install(bg, "echo")
			require.NoError(t, err)
			require.Equal(t, "1.0.0", r.Version)
			require.Equal(t, []string{"network.relay"}, r.Granted)
			require.FileExists(t, filepath.Join(w.pluginDir, "echo", "libecho.so"))
			require.FileExists(t, filepath.Join(w.pluginDir, "echo", "README"))
			require.NoError(t, in.Verify())
			rows, err := in.List()
			require.NoError(t, err)
			require.Len(t, rows, 1)
			require.True(t, rows[0].Matches)
			require.Equal(t, "1.0.0", rows[0].Version)

			w.publish(w.native("1.1.0", "network.relay"))
			rs, err := in.Update(bg)
			require.NoError(t, err)
			require.Equal(t, "1.1.0", rs[0].Version)
			require.Equal(t, "1.0.0", rs[0].Previous)
			rows, _ = in.List()
			require.Equal(t, "1.1.0", rows[0].Version)
			require.Equal(t, "1.0.0", rows[0].Previous)
			require.NoError(t, in.Verify("echo"))

			// Up to date: nothing changes.
			rs, err = in.Update(bg, "echo")
			require.NoError(t, err)
			require.False(t, rs[0].Changed)

			r, err = in.Rollback("echo")
			require.NoError(t, err)
			require.Equal(t, "1.0.0", r.Version)
			require.NoError(t, in.Verify("echo"))
			data, _ := os.ReadFile(filepath.Join(w.pluginDir, "echo", "README"))
			require.Equal(t, "echo 1.0.0\n", string(data))
			r, err = in.Rollback("echo") // and back again
			require.NoError(t, err)
			require.Equal(t, "1.1.0", r.Version)

			matches, err := in.Search(bg, "ech")
			require.NoError(t, err)
			require.Len(t, matches, 1)
			require.Equal(t, "1.1.0", matches[0].Latest)
			require.Equal(t, []string{"1.1.0", "1.0.0"}, matches[0].Versions)

			require.NoError(t, in.Remove("echo"))
			require.NoDirExists(t, filepath.Join(w.pluginDir, "echo"))
			require.NoDirExists(t, filepath.Join(w.pluginDir, stateDir, "previous", "echo"))
			rows, _ = in.List()
			require.Empty(t, rows)
			require.Equal(t, clawerr.NotFound, clawerr.CodeOf(in.Remove("echo")))
			_, err = in.Rollback("echo")
			require.Equal(t, clawerr.NotFound, clawerr.CodeOf(err))
		})
	}
}

func TestLifecycleWasm(t *testing.T) {
	w := newWorld(t)
	p := w.publish(w.wasmPlugin("1.0.0"))
	require.Equal(t, []string{pkgindex.PlatformAny}, p.Release.Platforms)
	in := w.installer(sources(t, w)["https"]...)
	// Any platform: a wasm package serves a machine no native build does.
	r, err := in.Install(bg, "wecho@^1")
	require.NoError(t, err)
	require.Equal(t, "1.0.0", r.Version)
	w.publish(w.wasmPlugin("1.2.0"))
	rs, err := in.Update(bg, "wecho")
	require.NoError(t, err)
	require.Equal(t, "1.2.0", rs[0].Version)
	_, err = in.Rollback("wecho")
	require.NoError(t, err)
	require.NoError(t, in.Verify())
	require.NoError(t, in.Remove("wecho"))
}

func TestVersionSelection(t *testing.T) {
	w := newWorld(t)
	for _, v := range []string{"1.0.0", "1.2.0", "1.2.5", "2.0.0"} {
		w.publish(w.native(v))
	}
	_, err := pkgindex.BuildIndex(w.idxDir, w.idxKey, pkgindex.IndexOptions{Yank: []string{"echo@1.2.5"}})
	require.NoError(t, err)
	for spec, want := range map[string]string{
		"echo": "2.0.0", "echo@1.0.0": "1.0.0", "echo@^1.2": "1.2.0", "echo@~1.2": "1.2.0", "echo@>=1.0": "2.0.0",
		"echo@<2": "1.2.0", "echo@1": "1.2.0", "echo@>=1.0, <1.2": "1.0.0",
	} {
		in, err := New(filepath.Join(t.TempDir(), "p"), WithIndex(w.idxDir), WithIndexKey(pub(w.idxKey)), WithTrial(nil))
		require.NoError(t, err)
		r, err := in.Install(bg, spec)
		require.NoError(t, err, spec)
		require.Equal(t, want, r.Version, spec)
	}
	in := w.installer()
	_, err = in.Install(bg, "echo@1.2.5")
	require.Equal(t, clawerr.NotFound, clawerr.CodeOf(err), "a yanked version is not installed")
	_, err = in.Install(bg, "echo@^3")
	require.Equal(t, clawerr.NotFound, clawerr.CodeOf(err))
	_, err = in.Install(bg, "nosuch")
	require.Equal(t, clawerr.NotFound, clawerr.CodeOf(err))
	require.Contains(t, err.Error(), "nosuch")
	in2, _ := New(w.pluginDir, WithIndex(w.idxDir), WithIndexKey(pub(w.idxKey)), WithConsent(Yes), WithPlatform("plan9", "amd64"))
	_, err = in2.Install(bg, "echo")
	require.Equal(t, clawerr.Incompatible, clawerr.CodeOf(err))
	require.Contains(t, err.Error(), "plan9/amd64")
}

// refuse runs install against a world prepared by bad and asserts the code
// and that the plugin directory and the lock file are as before.
func refuse(t *testing.T, w *world, in *Installer, code clawerr.Code, op func() error) {
	t.Helper()
	before := snapshot(t, w.pluginDir)
	err := op()
	require.Error(t, err)
	require.Equal(t, code, clawerr.CodeOf(err), "%v", err)
	require.True(t, errors.Is(err, code))
	after := snapshot(t, w.pluginDir)
	require.Equal(t, keys(before), keys(after), "files left behind")
	require.Equal(t, before, after, "plugin directory or lock file changed")
}

func TestRefusals(t *testing.T) {
	evil := newKey(t)
	tooBig := make([]byte, 2<<20)
	manyFiles := []tarEntry{reg("plugin.toml", []byte("x"))}
	for i := range 40 {
		manyFiles = append(manyFiles, reg("f"+strconv.Itoa(i), []byte("x")))
	}
	hostile := map[string]struct {
		ents []tarEntry
		code clawerr.Code
		says string
	}{
		"dotdot":   {[]tarEntry{reg("../evil", []byte("x"))}, clawerr.UnsafeArchive, "leaves"},
		"dotdot2":  {[]tarEntry{reg("a/../../evil", []byte("x"))}, clawerr.UnsafeArchive, "leaves"},
		"absolute": {[]tarEntry{reg("/etc/evil", []byte("x"))}, clawerr.UnsafeArchive, "absolute"},
		"symlink": {[]tarEntry{{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "libecho.so", Linkname: "/etc/passwd"}},
			reg("plugin.toml", []byte("x"))}, clawerr.UnsafeArchive, "a symlink"},
		"hardlink":   {[]tarEntry{{hdr: tar.Header{Typeflag: tar.TypeLink, Name: "libecho.so", Linkname: "../../x"}}}, clawerr.UnsafeArchive, "a hard link"},
		"device":     {[]tarEntry{{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "tty", Devmajor: 5, Devminor: 0}}}, clawerr.UnsafeArchive, "a device file"},
		"fifo":       {[]tarEntry{{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "pipe"}}}, clawerr.UnsafeArchive, "a FIFO"},
		"bytes":      {[]tarEntry{reg("big", tooBig)}, clawerr.UnsafeArchive, "tar bomb"},
		"files":      {manyFiles, clawerr.UnsafeArchive, "more than 32 files"},
		"dir dotdot": {[]tarEntry{{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "../d/", Mode: 0o755}}}, clawerr.UnsafeArchive, "leaves"},
		"dup":        {[]tarEntry{reg("a", []byte("1")), reg("a", []byte("2"))}, clawerr.UnsafeArchive, "appears twice"},
	}
	for name, h := range hostile {
		t.Run("archive "+name, func(t *testing.T) {
			w := newWorld(t)
			w.publish(w.native("1.0.0"))
			in := w.installer(WithLimits(32, 1<<20))
			_, err := in.Install(bg, "echo")
			require.NoError(t, err)
			w.addRaw("evil", "1.0.0", rawArchive(t, h.ents...))
			refuse(t, w, in, h.code, func() error {
				_, err := in.Install(bg, "evil")
				if err != nil {
					require.Contains(t, err.Error(), h.says)
				}
				return err
			})
			require.NoFileExists(t, filepath.Join(filepath.Dir(w.pluginDir), "evil"))
		})
	}

	cases := map[string]struct {
		prep func(t *testing.T, w *world) *Installer
		code clawerr.Code
		op   func(in *Installer) error
	}{
		"tampered archive": {func(t *testing.T, w *world) *Installer {
			p := filepath.Join(w.idxDir, "echo-1.1.0.tar.gz")
			data, _ := os.ReadFile(p)
			data[len(data)/2] ^= 1
			os.WriteFile(p, data, 0o644)
			return w.installer()
		}, clawerr.ChecksumMismatch, nil},
		"archive signed by an untrusted key": {func(t *testing.T, w *world) *Installer {
			idx := w.readIndex()
			r := &idx.Plugins["echo"][0]
			data, _ := os.ReadFile(filepath.Join(w.idxDir, r.Archive))
			r.Signature = sigkey.Sign(evil, data)
			w.writeIndex(idx, w.idxKey)
			return w.installer()
		}, clawerr.SignatureInvalid, nil},
		"index signed by the wrong key": {func(t *testing.T, w *world) *Installer {
			w.writeIndex(w.readIndex(), evil)
			return w.installer()
		}, clawerr.SignatureInvalid, nil},
		"index unsigned": {func(t *testing.T, w *world) *Installer {
			os.Remove(filepath.Join(w.idxDir, pkgindex.IndexFile+pkgindex.SigSuffix))
			return w.installer()
		}, clawerr.SignatureInvalid, nil},
		"stale serial": {func(t *testing.T, w *world) *Installer {
			// The user has seen serial 5 (the lock file remembers it); the
			// server now serves serial 2.
			lp := filepath.Join(w.pluginDir, lockName)
			l, err := lockfile.Read(lp)
			require.NoError(t, err)
			id := sigkey.KeyID(pub(w.idxKey))
			st := l.Indexes[id]
			require.Equal(t, uint64(1), st.Serial)
			st.Serial = 5
			l.Indexes[id] = st
			require.NoError(t, lockfile.Write(lp, l))
			return w.installer()
		}, clawerr.IndexStale, nil},
		"manifest disagrees with the index": {func(t *testing.T, w *world) *Installer {
			idx := w.readIndex()
			idx.Plugins["echo"][0].Capabilities = []string{}
			w.writeIndex(idx, w.idxKey)
			return w.installer()
		}, clawerr.ManifestInvalid, nil},
		"capability increase without consent": {func(t *testing.T, w *world) *Installer {
			return w.installer(WithConsent(nil))
		}, clawerr.ConsentRequired, nil},
		"capability increase refused": {func(t *testing.T, w *world) *Installer {
			return w.installer(WithConsent(func(context.Context, Request) (bool, error) { return false, nil }))
		}, clawerr.ConsentRequired, nil},
		"index announces more than the file has": {func(t *testing.T, w *world) *Installer {
			idx := w.readIndex()
			idx.Plugins["echo"][0].Size += 100
			w.writeIndex(idx, w.idxKey)
			return w.installer()
		}, clawerr.ChecksumMismatch, nil},
		"download cut short": {func(t *testing.T, w *world) *Installer {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				data, err := os.ReadFile(filepath.Join(w.idxDir, filepath.Base(r.URL.Path)))
				if err != nil {
					http.NotFound(rw, r)
					return
				}
				if strings.HasSuffix(r.URL.Path, ".tar.gz") {
					rw.Header().Set("Content-Length", strconv.Itoa(len(data)))
					rw.Write(data[:len(data)/2]) // then the handler returns: the connection is cut
					return
				}
				rw.Write(data)
			}))
			t.Cleanup(srv.Close)
			return w.installer(WithIndex(srv.URL), WithHTTPClient(srv.Client()))
		}, clawerr.ChecksumMismatch, nil},
		"server sends more than announced": {func(t *testing.T, w *world) *Installer {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				data, err := os.ReadFile(filepath.Join(w.idxDir, filepath.Base(r.URL.Path)))
				if err != nil {
					http.NotFound(rw, r)
					return
				}
				if strings.HasSuffix(r.URL.Path, ".tar.gz") {
					rw.(http.Flusher).Flush() // chunked: no Content-Length to refuse early
					rw.Write(data)
					rw.Write(make([]byte, 1<<20))
					return
				}
				rw.Write(data)
			}))
			t.Cleanup(srv.Close)
			return w.installer(WithIndex(srv.URL), WithHTTPClient(srv.Client()))
		}, clawerr.ChecksumMismatch, nil},
		"plain http": {func(t *testing.T, w *world) *Installer {
			return w.installer(WithIndex("http://127.0.0.1:1/"))
		}, clawerr.InvalidArgument, nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.publish(w.native("1.0.0"))
			_, err := w.installer().Install(bg, "echo")
			require.NoError(t, err)
			w.publish(w.native("1.1.0", "fs.write", "network.relay"))
			in := c.prep(t, w)
			refuse(t, w, in, c.code, func() error { _, err := in.Update(bg, "echo"); return err })
			require.NoError(t, in.Verify("echo"))
			rows, _ := in.List()
			require.Equal(t, "1.0.0", rows[0].Version)
		})
	}
}

// TestFailureAfterEachStep injects a failure after each step of an update
// and checks the plugin directory holds the old version or the new one,
// whole and matching the lock file, also after the next installer
// recovers what was left.
func TestFailureAfterEachStep(t *testing.T) {
	steps := []string{"index", "download", "verify", "extract", "manifest", "consent", "trial", "journal", "backup", "move", "lock", "previous", "done"}
	tmpl := newWorld(t)
	tmpl.publish(tmpl.native("1.0.0"))
	_, err := tmpl.installer().Install(bg, "echo")
	require.NoError(t, err)
	tmpl.publish(tmpl.native("1.1.0"))
	for i, step := range steps {
		t.Run(step, func(t *testing.T) {
			w := tmpl.clone(t)
			boom := fmt.Errorf("killed after %s", step)
			in := w.installer(optionFunc(func(o *options) {
				o.failAt = func(s string) error {
					if s == step {
						return boom
					}
					return nil
				}
			}))
			_, err := in.Update(bg, "echo")
			require.ErrorIs(t, err, boom)
			want := "1.0.0"
			if i >= slices.Index(steps, "lock") { // the lock file is the commit point
				want = "1.1.0"
			}
			check := func() {
				l, err := lockfile.Read(filepath.Join(w.pluginDir, lockName))
				require.NoError(t, err)
				e := l.Plugins["echo"]
				require.Equal(t, want, e.Version)
				require.NoError(t, e.Check(filepath.Join(w.pluginDir, "echo")))
				data, _ := os.ReadFile(filepath.Join(w.pluginDir, "echo", "README"))
				require.Equal(t, "echo "+want+"\n", string(data))
			}
			check()
			in = w.installer() // recovers
			check()
			for _, d := range []string{"staging", "tmp", "backup"} {
				ents, _ := os.ReadDir(filepath.Join(w.pluginDir, stateDir, d))
				require.Empty(t, ents, d)
			}
			require.NoFileExists(t, filepath.Join(w.pluginDir, stateDir, journalName))
			// The version replaced is kept (after the commit) or still kept
			// (before it): nothing is lost.
			l, err := lockfile.Read(filepath.Join(w.pluginDir, lockName))
			require.NoError(t, err)
			if want == "1.1.0" {
				require.NoError(t, l.Plugins["echo"].Previous.Check(filepath.Join(w.pluginDir, stateDir, "previous", "echo")))
			}
			require.NoError(t, in.Verify())
		})
	}
}

// TestRecoverAfterKill leaves the directory as a kill between the two
// renames of an installer without a journal (an earlier version) would:
// the backup goes back where the lock file says the version is.
func TestRecoverAfterKill(t *testing.T) {
	w := newWorld(t)
	w.publish(w.native("1.0.0"))
	_, err := w.installer().Install(bg, "echo")
	require.NoError(t, err)
	live := filepath.Join(w.pluginDir, "echo")
	backup := filepath.Join(w.pluginDir, stateDir, "backup", "echo")
	require.NoError(t, os.Rename(live, backup)) // killed after moving the old version aside
	in := w.installer()
	require.NoError(t, in.Verify("echo"))
	require.NoDirExists(t, backup)
}

func TestTrialFailureKeepsPrevious(t *testing.T) {
	w := newWorld(t)
	w.publish(w.native("1.0.0"))
	_, err := w.installer().Install(bg, "echo")
	require.NoError(t, err)
	// 1.1.0's library fails on_load: the trial open refuses it.
	dir := w.pluginSrc("echo", "1.1.0", "dylib", "libecho.so", cbuild.Plugin(t, "on_load_fails"))
	w.publish(dir)
	in := w.installer()
	refuse(t, w, in, clawerr.OnLoadFailed, func() error { _, err := in.Update(bg); return err })
}

func TestUnmanagedDirectoryIsNotReplaced(t *testing.T) {
	w := newWorld(t)
	w.publish(w.native("1.0.0"))
	require.NoError(t, os.MkdirAll(filepath.Join(w.pluginDir, "echo"), 0o755))
	in := w.installer()
	refuse(t, w, in, clawerr.InvalidArgument, func() error { _, err := in.Install(bg, "echo"); return err })
}

func TestInstallFile(t *testing.T) {
	w := newWorld(t)
	p := w.publish(w.native("1.0.0", "network.relay"))
	in, err := New(w.pluginDir, WithPublisherKeys(pub(newKey(t))), WithConsent(Yes))
	require.NoError(t, err)
	refuse(t, w, in, clawerr.SignatureInvalid, func() error { _, err := in.InstallFile(bg, p.Path); return err })
	in, err = New(w.pluginDir, WithPublisherKeys(pub(w.pubKey)), WithConsent(Yes))
	require.NoError(t, err)
	r, err := in.InstallFile(bg, p.Path)
	require.NoError(t, err)
	require.Equal(t, "1.0.0", r.Version)
	require.NoError(t, in.Verify())
}

func TestPackIsDeterministic(t *testing.T) {
	w := newWorld(t)
	dir := w.native("1.0.0", "network.relay")
	a, b := filepath.Join(t.TempDir(), "a.tar.gz"), filepath.Join(t.TempDir(), "b.tar.gz")
	pa, err := pkgindex.Pack(dir, a, w.pubKey)
	require.NoError(t, err)
	os.Chtimes(filepath.Join(dir, "README"), time.Now(), time.Now())
	pb, err := pkgindex.Pack(dir, b, w.pubKey)
	require.NoError(t, err)
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	require.Equal(t, da, db)
	require.Equal(t, pa.Release.SHA256, pb.Release.SHA256)
	require.Equal(t, []string{"README", "libecho.so", "plugin.toml"}, pa.Files)
	require.Equal(t, []string{goosOf() + "/" + goarchOf()}, pa.Release.Platforms)
	// Something the manifest does not list is not packed.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("x"), 0o644))
	pc, err := pkgindex.Pack(dir, b, w.pubKey)
	require.NoError(t, err)
	require.NotContains(t, pc.Files, "secret.txt")
}

func TestPackRefusesASymlink(t *testing.T) {
	w := newWorld(t)
	dir := w.native("1.0.0", "network.relay")
	// A listed file that is a symlink is refused.
	require.NoError(t, os.Remove(filepath.Join(dir, "README")))
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "README")); err != nil && runtime.GOOS == "windows" {
		t.Skipf("symlinks need a privilege on Windows: %v", err)
	} else {
		require.NoError(t, err)
	}
	_, err := pkgindex.Pack(dir, filepath.Join(t.TempDir(), "c.tar.gz"), w.pubKey)
	require.Equal(t, clawerr.UnsafeArchive, clawerr.CodeOf(err))
}

func TestUpdateFromTheRecordedIndex(t *testing.T) {
	w := newWorld(t)
	w.publish(w.native("1.0.0"))
	_, err := w.installer().Install(bg, "echo")
	require.NoError(t, err)
	w.publish(w.native("1.0.1"))
	in, err := New(w.pluginDir, WithIndexKey(pub(w.idxKey)), WithConsent(Yes)) // no WithIndex
	require.NoError(t, err)
	rs, err := in.Update(bg)
	require.NoError(t, err)
	require.Equal(t, "1.0.1", rs[0].Version)
	// No key: nothing is trusted.
	in, err = New(w.pluginDir, WithIndex(w.idxDir))
	require.NoError(t, err)
	refuse(t, w, in, clawerr.SignatureInvalid, func() error { _, err := in.Update(bg); return err })
}

// One package, two machines: the entry table names each; an installer
// picks the release for its platform, and pack refuses an entry whose
// library is for another machine than its key says.
func TestMultiPlatformPackage(t *testing.T) {
	if goosOf() != "linux" || goarchOf() != "amd64" {
		t.Skip("builds a linux/arm64 library beside this linux/amd64 one")
	}
	cbuild.RequireCross(t, "arm64")
	zig := cbuild.RequireZig(t)
	root, err := cbuild.RepoRoot()
	require.NoError(t, err)
	arm := cbuild.Once(t, "install-echo-arm64", func(dir string) (string, error) {
		out := filepath.Join(dir, "libecho.so")
		_, err := cbuild.Run(dir, []string{"ZIG_LOCAL_CACHE_DIR=" + filepath.Join(dir, "zig-cache")},
			append(append([]string{}, zig...), "cc", "-target", "aarch64-linux-gnu", "-shared", "-fPIC", "-std=c99",
				"-I"+filepath.Join(root, "include"), filepath.Join(root, "testplugins", "echo.c"), "-o", out)...)
		return out, err
	})
	w := newWorld(t)
	dir := w.native("1.0.0")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "arm64"), 0o755))
	data, err := os.ReadFile(arm)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "arm64", "libecho.so"), data, 0o644))
	toml := "name = \"echo\"\nversion = \"1.0.0\"\nfiles = [\"README\"]\n[entry]\nlinux_amd64 = \"libecho.so\"\nlinux_arm64 = \"arm64/libecho.so\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(toml), 0o644))
	p := w.publish(dir)
	require.Equal(t, []string{"linux/amd64", "linux/arm64"}, p.Release.Platforms)
	require.Equal(t, []string{"README", "arm64/libecho.so", "libecho.so", "plugin.toml"}, p.Files)
	_, err = w.installer().Install(bg, "echo")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(w.pluginDir, "echo", "arm64", "libecho.so"))
	// On a machine the package has no build for: incompatible.
	in, err := New(t.TempDir(), WithIndex(w.idxDir), WithIndexKey(pub(w.idxKey)), WithPlatform("linux", "riscv64"))
	require.NoError(t, err)
	_, err = in.Install(bg, "echo")
	require.Equal(t, clawerr.Incompatible, clawerr.CodeOf(err))

	// A key that lies about its library.
	toml = "name = \"echo\"\nversion = \"1.0.1\"\n[entry]\nlinux_amd64 = \"libecho.so\"\nlinux_riscv64 = \"arm64/libecho.so\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(toml), 0o644))
	_, err = pkgindex.Pack(dir, filepath.Join(t.TempDir(), "x.tar.gz"), w.pubKey)
	require.Equal(t, clawerr.Incompatible, clawerr.CodeOf(err))
	require.Contains(t, err.Error(), "not a library for linux/riscv64")
}

func TestIndexRestrictsPublishers(t *testing.T) {
	w := newWorld(t)
	w.publish(w.native("1.0.0"))
	_, err := pkgindex.BuildIndex(w.idxDir, w.idxKey, pkgindex.IndexOptions{Publishers: []ed25519.PublicKey{pub(newKey(t))}})
	require.Equal(t, clawerr.SignatureInvalid, clawerr.CodeOf(err))
	idx, err := pkgindex.BuildIndex(w.idxDir, w.idxKey, pkgindex.IndexOptions{Publishers: []ed25519.PublicKey{pub(w.pubKey)}})
	require.NoError(t, err)
	require.Equal(t, uint64(2), idx.Serial, "one above the last index written (the refused build wrote none)")
	_, err = pkgindex.BuildIndex(w.idxDir, w.idxKey, pkgindex.IndexOptions{Yank: []string{"echo@9.9.9"}})
	require.Equal(t, clawerr.NotFound, clawerr.CodeOf(err))
	// An index directory signed by another key is not silently taken over.
	_, err = pkgindex.BuildIndex(w.idxDir, newKey(t), pkgindex.IndexOptions{})
	require.Equal(t, clawerr.SignatureInvalid, clawerr.CodeOf(err))
}

type countingProgress struct{ starts, bytes, dones int64 }

func (c *countingProgress) Start(string, int64) { c.starts++ }
func (c *countingProgress) Advance(n int64)     { c.bytes += n }
func (c *countingProgress) Done()               { c.dones++ }

func TestProgress(t *testing.T) {
	w := newWorld(t)
	p := w.publish(w.native("1.0.0"))
	c := &countingProgress{}
	_, err := w.installer(WithProgress(c)).Install(bg, "echo")
	require.NoError(t, err)
	require.Equal(t, int64(1), c.starts)
	require.Equal(t, int64(1), c.dones)
	require.Equal(t, p.Release.Size, c.bytes)
}

// One plugin's refused update does not stop the others'.
func TestUpdateOneRefusedOthersUpdated(t *testing.T) {
	w := newWorld(t)
	named := func(name, version string, caps ...string) string {
		lib := cbuild.Plugin(t, "echo", `-DECHO_NAME="`+name+`"`, `-DECHO_VERSION="`+version+`"`)
		return w.pluginSrc(name, version, "dylib", "libecho.so", lib, caps...)
	}
	w.publish(named("alpha", "1.0.0"))
	w.publish(named("beta", "1.0.0"))
	in := w.installer()
	for _, n := range []string{"alpha", "beta"} {
		_, err := in.Install(bg, n)
		require.NoError(t, err)
	}
	w.publish(named("alpha", "1.1.0", "fs.write")) // asks for more
	w.publish(named("beta", "1.1.0"))
	in = w.installer(WithConsent(nil))
	rs, err := in.Update(bg)
	require.Equal(t, clawerr.ConsentRequired, clawerr.CodeOf(err))
	require.Len(t, rs, 2)
	require.Equal(t, "alpha", rs[0].Name)
	require.Equal(t, clawerr.ConsentRequired, clawerr.CodeOf(rs[0].Err))
	require.Equal(t, "1.0.0", rs[0].Version)
	require.NoError(t, rs[1].Err)
	require.Equal(t, "1.1.0", rs[1].Version)
	rows, _ := in.List()
	require.Equal(t, "1.0.0", rows[0].Version)
	require.Equal(t, "1.1.0", rows[1].Version)
	require.NoError(t, in.Verify())

	// A constraint keeps an update within it.
	w.publish(named("beta", "2.0.0"))
	rs, err = w.installer().Update(bg, "beta@^1")
	require.NoError(t, err)
	require.False(t, rs[0].Changed)
	rs, err = w.installer().Update(bg, "beta")
	require.NoError(t, err)
	require.Equal(t, "2.0.0", rs[0].Version)
}

// fileURL is dir as a file:// URL: file:///DIR, or file:///C:/DIR on Windows.
func fileURL(dir string) string {
	p := filepath.ToSlash(dir)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}
