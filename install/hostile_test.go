package install

import (
	"context"
	"encoding/json"
	"github.com/clawd-go/clawd/internal/sigkey"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/lockfile"
	"github.com/clawd-go/clawd/internal/pkgindex"
)

// symlink makes link point at target, or skips where links need a
// privilege the test does not have (Windows).
func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		if runtime.GOOS == "windows" {
			t.Skipf("symlinks need a privilege on Windows: %v", err)
		}
		require.NoError(t, err)
	}
}

// canary is a folder outside the plugin directory holding files an
// attacker wants the installer to destroy: outside/canary, and the same
// under the names of the installer's folders and of the plugin, so a
// removal of "staging/*", "previous/echo" or "echo" through a link finds
// something to remove.
func canary(t *testing.T) (dir string, intact func()) {
	dir = filepath.Join(t.TempDir(), "outside")
	files := []string{"canary", "staging/echo-x/canary", "tmp/t/canary", "backup/echo/canary", "previous/echo/canary", "echo/canary"}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("precious"), 0o644))
	}
	return dir, func() {
		t.Helper()
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
			require.NoError(t, err, "%s outside the plugin directory was removed", f)
			require.Equal(t, "precious", string(data))
		}
	}
}

// updated is a world with echo 1.1.0 installed and 1.0.0 kept, and 1.2.0
// in the index.
func updated(t *testing.T) *world {
	w := newWorld(t)
	w.publish(w.native("1.0.0"))
	in := w.installer(WithTrial(nil))
	_, err := in.Install(bg, "echo")
	require.NoError(t, err)
	w.publish(w.native("1.1.0"))
	_, err = in.Update(bg, "echo")
	require.NoError(t, err)
	w.publish(w.native("1.2.0"))
	return w
}

// clone is a copy of w for the test t: a plugin directory of its own,
// copied from w's; the keys, the sources and the index (which the
// tests here only read) are shared. Cheaper than building the same world
// again for each subtest.
func (w *world) clone(t *testing.T) *world {
	c := *w
	c.t = t
	c.pluginDir = filepath.Join(t.TempDir(), "plugins")
	copyTree(t, w.pluginDir, c.pluginDir)
	return &c
}

// ops are every operation of an Installer, as a user runs them.
var ops = map[string]func(in *Installer) error{
	"list":     func(in *Installer) error { _, err := in.List(); return err },
	"verify":   func(in *Installer) error { return in.Verify() },
	"install":  func(in *Installer) error { _, err := in.Install(bg, "echo"); return err },
	"update":   func(in *Installer) error { _, err := in.Update(bg, "echo"); return err },
	"rollback": func(in *Installer) error { _, err := in.Rollback("echo"); return err },
	"remove":   func(in *Installer) error { return in.Remove("echo") },
	"search":   func(in *Installer) error { _, err := in.Search(bg, ""); return err },
}

// A state folder replaced by a link to a folder outside: every operation
// (and New) is refused with unsafe_archive, and nothing outside changes.
func TestStateFolderLinkIsRefused(t *testing.T) {
	tmpl := updated(t)
	for _, folder := range []string{stateDir, stateDir + "/staging", stateDir + "/previous", stateDir + "/backup", stateDir + "/tmp", stateDir + "/lock"} {
		for op, run := range ops {
			t.Run(folder+" "+op, func(t *testing.T) {
				w := tmpl.clone(t)
				in := w.installer(WithTrial(nil))
				outside, intact := canary(t)
				p := filepath.Join(w.pluginDir, filepath.FromSlash(folder))
				require.NoError(t, os.RemoveAll(p))
				symlink(t, outside, p)
				before := snapshot(t, w.pluginDir)
				err := run(in)
				require.Equal(t, clawerr.UnsafeArchive, clawerr.CodeOf(err), "%v", err)
				require.Contains(t, err.Error(), "never follows a link")
				intact()
				require.Equal(t, before, snapshot(t, w.pluginDir))
				_, err = New(w.pluginDir)
				require.Equal(t, clawerr.UnsafeArchive, clawerr.CodeOf(err), "%v", err)
				intact()
			})
		}
	}
}

// The lock file or the journal replaced by a link: manifest_invalid,
// never read or written through.
func TestLockFileOrJournalLinkIsRefused(t *testing.T) {
	tmpl := updated(t)
	for _, f := range []string{lockName, stateDir + "/journal"} {
		t.Run(f, func(t *testing.T) {
			w := tmpl.clone(t)
			in := w.installer(WithTrial(nil))
			outside, intact := canary(t)
			p := filepath.Join(w.pluginDir, filepath.FromSlash(f))
			os.Remove(p)
			symlink(t, filepath.Join(outside, "canary"), p)
			for op, run := range ops {
				err := run(in)
				require.Equal(t, clawerr.ManifestInvalid, clawerr.CodeOf(err), "%s: %v", op, err)
				require.Contains(t, err.Error(), "not a regular file")
			}
			intact()
		})
	}
}

// A plugin folder, a kept version, a leftover backup or staging entry
// replaced by a link: the installer never follows one. The link is what
// it moves or removes; a tree behind a link never matches the lock.
func TestPluginFolderLinkIsNotFollowed(t *testing.T) {
	t.Run("installed", func(t *testing.T) {
		w := updated(t)
		in := w.installer(WithTrial(nil))
		outside, intact := canary(t)
		live := filepath.Join(w.pluginDir, "echo")
		require.NoError(t, os.RemoveAll(live))
		symlink(t, filepath.Join(outside, "echo"), live)
		err := in.Verify("echo")
		require.Equal(t, clawerr.ChecksumMismatch, clawerr.CodeOf(err), "%v", err)
		require.Contains(t, err.Error(), "never a link")
		rows, err := in.List()
		require.NoError(t, err)
		require.False(t, rows[0].Matches)
		// Update moves the link aside (kept as the previous version)...
		_, err = in.Update(bg, "echo")
		require.NoError(t, err)
		require.NoError(t, in.Verify("echo"))
		intact()
		// ...which a rollback refuses to restore...
		_, err = in.Rollback("echo")
		require.Equal(t, clawerr.ChecksumMismatch, clawerr.CodeOf(err), "%v", err)
		// ...and a remove removes, the link and not what it points to.
		require.NoError(t, in.Remove("echo"))
		intact()
		require.NoFileExists(t, filepath.Join(w.pluginDir, stateDir, "previous", "echo"))
	})
	tmpl := updated(t)
	for _, at := range []string{"previous/echo", "backup/echo", "staging/echo-x", "tmp/t"} {
		t.Run(at, func(t *testing.T) {
			w := tmpl.clone(t)
			in := w.installer(WithTrial(nil))
			outside, intact := canary(t)
			p := filepath.Join(w.pluginDir, stateDir, filepath.FromSlash(at))
			require.NoError(t, os.RemoveAll(p))
			symlink(t, filepath.Join(outside, filepath.FromSlash(at)), p)
			_, err := in.Rollback("echo")
			if at == "previous/echo" {
				require.Equal(t, clawerr.ChecksumMismatch, clawerr.CodeOf(err), "%v", err)
			} else {
				require.NoError(t, err)
			}
			_, err = in.Update(bg, "echo")
			require.NoError(t, err)
			require.NoError(t, in.Remove("echo"))
			intact()
			for _, d := range stateDirs {
				ents, _ := os.ReadDir(filepath.Join(w.pluginDir, stateDir, d))
				require.Empty(t, ents, d)
			}
		})
	}
}

// badNames are plugin names no plugin directory may hold.
var badNames = []string{"../x", "..", ".", "a/b", `a\b`, "CON", "nul.txt", "Com1", "lpt9.log", "aux", "x.", ".x", "",
	"a\x01b", "a\x7fb", "tab\tname", "sp ace", "clawd.lock", strings.Repeat("a", 129), "é"}

// Names are refused (bad_name) from the caller, the index and a package,
// before any path is built: nothing is written anywhere.
func TestBadNamesAreRefused(t *testing.T) {
	w := newWorld(t)
	w.publish(w.native("1.0.0"))
	in := w.installer(WithTrial(nil))
	_, err := in.Install(bg, "echo")
	require.NoError(t, err)
	for _, name := range badNames {
		t.Run("argument "+name, func(t *testing.T) {
			for what, op := range map[string]func() error{
				"install":  func() error { _, err := in.Install(bg, name+"@1"); return err },
				"update":   func() error { _, err := in.Update(bg, name); return err },
				"rollback": func() error { _, err := in.Rollback(name); return err },
				"remove":   func() error { return in.Remove(name) },
				"verify":   func() error { return in.Verify(name) },
			} {
				refuse(t, w, in, clawerr.BadName, func() error {
					err := op()
					require.Error(t, err, what)
					return err
				})
			}
		})
	}
	for _, name := range badNames {
		t.Run("index "+name, func(t *testing.T) {
			w := newWorld(t)
			w.publish(w.native("1.0.0"))
			in := w.installer(WithTrial(nil))
			_, err := in.Install(bg, "echo")
			require.NoError(t, err)
			w.addRaw(name, "1.0.0", rawArchive(t, reg("plugin.toml", []byte("name = \"x\"\n"))))
			refuse(t, w, in, clawerr.BadName, func() error { _, err := in.Update(bg, "echo"); return err })
			require.NoDirExists(t, filepath.Join(filepath.Dir(w.pluginDir), "x"))
		})
	}
	// In a package's manifest (a name a manifest can hold: TOML carries
	// no control character through the manifest's own check).
	for _, name := range []string{"../x", "..", "a/b", `a\b`, "CON", "nul.txt", "lpt9.log", "x.", "é"} {
		t.Run("package "+name, func(t *testing.T) {
			w := newWorld(t)
			toml, _ := json.Marshal(name) // a TOML basic string is a JSON string here
			archive := rawArchive(t, reg("plugin.toml", []byte("name = "+string(toml)+"\nversion = \"1.0.0\"\nentry = \"libecho.so\"\n")),
				reg("libecho.so", []byte("x")))
			file := filepath.Join(w.idxDir, "evil-1.0.0.tar.gz")
			require.NoError(t, os.WriteFile(file, archive, 0o644))
			require.NoError(t, os.WriteFile(file+pkgindex.SigSuffix, pkgindex.NewSigFile(w.pubKey, archive), 0o644))
			in, err := New(w.pluginDir, WithPublisherKeys(pub(w.pubKey)), WithConsent(Yes), WithTrial(nil))
			require.NoError(t, err)
			refuse(t, w, in, clawerr.BadName, func() error { _, err := in.InstallFile(bg, file); return err })
			_, err = pkgindex.BuildIndex(w.idxDir, w.idxKey, pkgindex.IndexOptions{})
			require.Equal(t, clawerr.BadName, clawerr.CodeOf(err), "%v", err)
			require.NoDirExists(t, filepath.Join(filepath.Dir(w.pluginDir), "x"))
		})
	}
}

// Every bound the documentation lists, each with its code.
func TestBoundsAreEnforced(t *testing.T) {
	t.Run("package download", func(t *testing.T) {
		w := newWorld(t)
		p := w.publish(w.native("1.0.0"))
		in := w.installer(WithTrial(nil), WithMaxDownload(0, p.Release.Size-1))
		refuse(t, w, in, clawerr.UnsafeArchive, func() error { _, err := in.Install(bg, "echo"); return err })
		_, err := w.installer(WithTrial(nil), WithMaxDownload(0, p.Release.Size)).Install(bg, "echo")
		require.NoError(t, err, "the bound itself is allowed")
	})
	t.Run("package file", func(t *testing.T) {
		w := newWorld(t)
		p := w.publish(w.native("1.0.0"))
		in, err := New(w.pluginDir, WithPublisherKeys(pub(w.pubKey)), WithConsent(Yes), WithTrial(nil), WithMaxDownload(0, p.Release.Size-1))
		require.NoError(t, err)
		refuse(t, w, in, clawerr.UnsafeArchive, func() error { _, err := in.InstallFile(bg, p.Path); return err })
	})
	t.Run("index", func(t *testing.T) {
		w := newWorld(t)
		w.publish(w.native("1.0.0"))
		st, err := os.Stat(filepath.Join(w.idxDir, pkgindex.IndexFile))
		require.NoError(t, err)
		in := w.installer(WithTrial(nil), WithMaxDownload(st.Size()-1, 0))
		refuse(t, w, in, clawerr.Unavailable, func() error {
			_, err := in.Install(bg, "echo")
			if err != nil {
				require.Contains(t, err.Error(), "more than the limit")
			}
			return err
		})
	})
	t.Run("index signature", func(t *testing.T) {
		w := newWorld(t)
		w.publish(w.native("1.0.0"))
		sig := filepath.Join(w.idxDir, pkgindex.IndexFile+pkgindex.SigSuffix)
		data, err := os.ReadFile(sig)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(sig, append(data, make([]byte, pkgindex.MaxSigSize)...), 0o644))
		in := w.installer(WithTrial(nil))
		refuse(t, w, in, clawerr.Unavailable, func() error { _, err := in.Install(bg, "echo"); return err })
	})
	t.Run("files and bytes", func(t *testing.T) {
		w := newWorld(t)
		w.publish(w.native("1.0.0"))
		for _, in := range []*Installer{w.installer(WithTrial(nil), WithLimits(2, 0)), w.installer(WithTrial(nil), WithLimits(0, 100))} {
			refuse(t, w, in, clawerr.UnsafeArchive, func() error { _, err := in.Install(bg, "echo"); return err })
		}
	})
	t.Run("package file unpacks within the limits", func(t *testing.T) {
		w := newWorld(t)
		p := w.publish(w.native("1.0.0"))
		in, err := New(w.pluginDir, WithPublisherKeys(pub(w.pubKey)), WithConsent(Yes), WithTrial(nil), WithLimits(2, 0))
		require.NoError(t, err)
		refuse(t, w, in, clawerr.UnsafeArchive, func() error { _, err := in.InstallFile(bg, p.Path); return err })
	})
	t.Run("lock file", func(t *testing.T) {
		w := newWorld(t)
		in := w.installer(WithTrial(nil))
		require.NoError(t, os.WriteFile(filepath.Join(w.pluginDir, lockName), make([]byte, lockfile.MaxSize+1), 0o644))
		err := in.Verify()
		require.Equal(t, clawerr.ManifestInvalid, clawerr.CodeOf(err), "%v", err)
		require.Contains(t, err.Error(), "larger than")
	})
	t.Run("journal", func(t *testing.T) {
		w := newWorld(t)
		in := w.installer(WithTrial(nil))
		require.NoError(t, os.WriteFile(filepath.Join(w.pluginDir, stateDir, "journal"), make([]byte, maxJournal+1), 0o600))
		err := in.Verify()
		require.Equal(t, clawerr.ManifestInvalid, clawerr.CodeOf(err), "%v", err)
	})
}

// A journal the installer did not write is refused, never acted on: it
// could name any rename.
func TestForgedJournalIsRefused(t *testing.T) {
	tmpl := updated(t)
	for name, j := range map[string]string{
		"escaping name":    `{"op":"remove","name":"../x","lock_sha256":"` + strings.Repeat("0", 64) + `"}`,
		"escaping staging": `{"op":"install","name":"echo","staging":"../../x","lock_sha256":"` + strings.Repeat("0", 64) + `"}`,
		"unknown op":       `{"op":"format","name":"echo","lock_sha256":"` + strings.Repeat("0", 64) + `"}`,
		"unknown field":    `{"op":"remove","name":"echo","from":"/","lock_sha256":"` + strings.Repeat("0", 64) + `"}`,
		"not json":         `rm -rf /`,
	} {
		t.Run(name, func(t *testing.T) {
			w := tmpl.clone(t)
			in := w.installer(WithTrial(nil))
			require.NoError(t, os.WriteFile(filepath.Join(w.pluginDir, stateDir, "journal"), []byte(j), 0o600))
			before := snapshot(t, w.pluginDir)
			err := in.Verify()
			require.Equal(t, clawerr.ManifestInvalid, clawerr.CodeOf(err), "%v", err)
			require.Contains(t, err.Error(), "the installer did not write it")
			require.Equal(t, before, snapshot(t, w.pluginDir))
		})
	}
}

// Two installers on one plugin directory at once: the second waits for
// the first, and both plugins end up installed and recorded.
func TestConcurrentInstallsBothRecorded(t *testing.T) {
	w := newWorld(t)
	for _, n := range []string{"alpha", "beta"} {
		w.publish(w.pluginSrc(n, "1.0.0", "dylib", "libecho.so", echoLib(t, n, "1.0.0")))
	}
	a := w.installer(WithTrial(nil), WithLockWait(1<<62))
	b := w.installer(WithTrial(nil), WithLockWait(1<<62))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, in := range []*Installer{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = in.Install(bg, []string{"alpha", "beta"}[i])
		}()
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	l, err := lockfile.Read(filepath.Join(w.pluginDir, lockName))
	require.NoError(t, err)
	require.Equal(t, []string{"alpha", "beta"}, l.Names())
	require.NoError(t, a.Verify())
}

func echoLib(t *testing.T, name, version string) string {
	return cbuild.Plugin(t, "echo", `-DECHO_NAME="`+name+`"`, `-DECHO_VERSION="`+version+`"`)
}

// While one installer works, another that will not wait is refused with
// busy, as is one whose context ends while it waits; nothing changes.
func TestSecondInstallerIsBusy(t *testing.T) {
	w := newWorld(t)
	w.publish(w.native("1.0.0", "network.relay"))
	asked := make(chan struct{})
	release := make(chan struct{})
	first := w.installer(WithTrial(nil), WithConsent(func(context.Context, Request) (bool, error) {
		close(asked) // the first holds the lock while it asks
		<-release
		return true, nil
	}))
	impatient := w.installer(WithTrial(nil), WithLockWait(0))
	patient := w.installer(WithTrial(nil), WithLockWait(1<<62))
	done := make(chan error)
	go func() { _, err := first.Install(bg, "echo"); done <- err }()
	<-asked
	for name, op := range map[string]func() error{
		"no wait": func() error { _, err := impatient.Install(bg, "echo"); return err },
		"list":    func() error { _, err := impatient.List(); return err },
		"remove":  func() error { return impatient.Remove("echo") },
		"new":     func() error { _, err := New(w.pluginDir, WithLockWait(0)); return err },
		"context ends": func() error {
			ctx, cancel := context.WithCancel(bg)
			cancel()
			_, err := patient.Install(ctx, "echo")
			return err
		},
	} {
		err := op()
		require.Equal(t, clawerr.Busy, clawerr.CodeOf(err), "%s: %v", name, err)
		require.Contains(t, err.Error(), "another installer is working on")
	}
	close(release)
	require.NoError(t, <-done)
	require.NoError(t, impatient.Verify("echo"), "the lock is free again")
	l, err := lockfile.Read(filepath.Join(w.pluginDir, lockName))
	require.NoError(t, err)
	require.Equal(t, "1.0.0", l.Plugins["echo"].Version)
	require.Equal(t, sigkey.KeyID(pub(w.pubKey)), l.Plugins["echo"].PublisherKey)
}

// An installed folder someone removed is not recorded as kept by the
// update or rollback that replaces it: the lock never names a version
// that is not on disk.
func TestMissingInstalledVersionIsNotKept(t *testing.T) {
	tmpl := updated(t)
	for _, op := range []string{"update", "rollback"} {
		t.Run(op, func(t *testing.T) {
			w := tmpl.clone(t)
			in := w.installer(WithTrial(nil))
			require.NoError(t, os.RemoveAll(filepath.Join(w.pluginDir, "echo")))
			var err error
			if op == "update" {
				_, err = in.Update(bg, "echo")
			} else {
				_, err = in.Rollback("echo")
			}
			require.NoError(t, err)
			l, err := lockfile.Read(filepath.Join(w.pluginDir, lockName))
			require.NoError(t, err)
			require.Nil(t, l.Plugins["echo"].Previous)
			require.NoError(t, in.Verify())
			_, err = in.Rollback("echo")
			require.Equal(t, clawerr.NotFound, clawerr.CodeOf(err), "%v", err)
		})
	}
}
