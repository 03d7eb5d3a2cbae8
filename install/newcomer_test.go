package install

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/pkgindex"
)

// requireCode asserts err carries code.
func requireCode(t *testing.T, err error, code clawerr.Code) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errors.Is(err, code), "want %s, got %v", code, err)
}

// handCopied puts a plugin into dir as someone copying it by hand would:
// a directory with a manifest and a library, no lock entry.
func handCopied(t *testing.T, dir, name string) {
	t.Helper()
	sub := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(sub, 0o755))
	lib, err := os.ReadFile(cbuild.Plugin(t, "echo"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(sub, "libecho.so"), lib, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "plugin.toml"),
		[]byte("name = \""+name+"\"\nversion = \"1.0.0\"\nentry = \"libecho.so\"\n"), 0o644))
}

// A mistyped plugin directory is not_found, and Open makes nothing of it:
// neither the directory nor its state folder.
func TestOpenRefusesAMissingDirectory(t *testing.T) {
	typo := filepath.Join(t.TempDir(), "plugnis")
	_, err := Open(typo)
	requireCode(t, err, clawerr.NotFound)
	require.Contains(t, err.Error(), "not there")
	require.NoDirExists(t, typo)

	file := filepath.Join(t.TempDir(), "afile")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	_, err = Open(file)
	requireCode(t, err, clawerr.NotFound)
	require.Contains(t, err.Error(), "not a directory")
}

// A directory nothing was ever installed into (no lock file, no state
// folder) is not_found, naming the plugins copied into it by hand; nothing
// is created in it.
func TestOpenRefusesADirectoryWithoutALock(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir)
	requireCode(t, err, clawerr.NotFound)
	require.Contains(t, err.Error(), "no lock file")
	handCopied(t, dir, "copied")
	_, err = Open(dir)
	requireCode(t, err, clawerr.NotFound)
	require.Contains(t, err.Error(), "unlocked plugins (copied in by hand, never verified): copied")
	require.NoDirExists(t, filepath.Join(dir, stateDir))
	require.NoFileExists(t, filepath.Join(dir, lockName))
}

// List and Verify only read: on a plugin directory whose state folder is
// gone they create nothing, and still check what the lock records.
func TestReadingVerbsCreateNothing(t *testing.T) {
	w := newWorld(t)
	w.publish(w.native("1.0.0"))
	_, err := w.installer().Install(bg, "echo")
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(filepath.Join(w.pluginDir, stateDir)))
	in, err := Open(w.pluginDir)
	require.NoError(t, err)
	rows, err := in.List()
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.True(t, rows[0].Matches)
	require.NoError(t, in.Verify())
	require.NoDirExists(t, filepath.Join(w.pluginDir, stateDir))

	// Still checked: a changed file is found without the state folder.
	require.NoError(t, os.WriteFile(filepath.Join(w.pluginDir, "echo", "README"), []byte("changed\n"), 0o644))
	requireCode(t, in.Verify(), clawerr.ChecksumMismatch)
	require.NoDirExists(t, filepath.Join(w.pluginDir, stateDir))
}

// Verify names each plugin the lock file does not record (the host would
// load it unchecked); asked for a locked plugin by name, it checks that one.
func TestVerifyNamesUnlockedPlugins(t *testing.T) {
	w := newWorld(t)
	w.publish(w.native("1.0.0"))
	in := w.installer()
	_, err := in.Install(bg, "echo")
	require.NoError(t, err)
	handCopied(t, w.pluginDir, "copied")
	err = in.Verify()
	requireCode(t, err, clawerr.NotFound)
	require.Contains(t, err.Error(), "copied is in "+w.pluginDir+" but not in its lock file")
	require.NotContains(t, err.Error(), "echo is")
	require.NoError(t, in.Verify("echo"))

	// A plain directory without a manifest is no plugin: not named.
	require.NoError(t, os.RemoveAll(filepath.Join(w.pluginDir, "copied")))
	require.NoError(t, os.MkdirAll(filepath.Join(w.pluginDir, "notes"), 0o755))
	require.NoError(t, in.Verify())
}

// Nobody could be asked: consent_required names both ways out.
func TestConsentRequiredNamesBothWaysOut(t *testing.T) {
	w := newWorld(t)
	w.publish(w.native("1.0.0", "network.relay"))
	in, err := New(w.pluginDir, WithIndex(w.idxDir), WithIndexKey(pub(w.idxKey)), WithTrial(nil))
	require.NoError(t, err)
	_, err = in.Install(bg, "echo")
	requireCode(t, err, clawerr.ConsentRequired)
	require.Contains(t, err.Error(), "asks for network.relay, not granted: nobody could be asked (no terminal)")
	require.Contains(t, err.Error(), "Run again on a terminal to be asked, or with --yes to grant them")
}

// pack packs the entries that are built and names those it left out; the
// package serves the platforms it holds and installs here.
func TestPackLeavesOutUnbuiltEntries(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(w.srcDir, "multi")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	lib, err := os.ReadFile(cbuild.Plugin(t, "echo"))
	require.NoError(t, err)
	here := goosOf()
	others := map[string]string{"linux": "libecho.so", "darwin": "libecho.dylib", "windows": "echo.dll"}
	toml := "name = \"echo\"\nversion = \"1.0.0\"\n[entry]\n"
	for _, k := range []string{"darwin", "linux", "windows"} {
		toml += k + " = \"build/" + others[k] + "\"\n"
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(toml), 0o644))

	// Nothing built: not_found, naming every entry, and no package.
	out := filepath.Join(w.idxDir, "echo-1.0.0.tar.gz")
	_, err = pkgindex.Pack(dir, out, w.pubKey)
	requireCode(t, err, clawerr.NotFound)
	require.Contains(t, err.Error(), "no entry of the manifest is built (entry.darwin (build/libecho.dylib), entry.linux (build/libecho.so), entry.windows (build/echo.dll))")
	require.NoFileExists(t, out)

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "build"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "build", others[here]), lib, 0o644))
	p, err := pkgindex.Pack(dir, out, w.pubKey)
	require.NoError(t, err)
	var want []string
	for _, k := range []string{"darwin", "linux", "windows"} {
		if k != here {
			want = append(want, "entry."+k+" (build/"+others[k]+")")
		}
	}
	require.Equal(t, want, p.LeftOut)
	require.Equal(t, []string{"build/" + others[here], "plugin.toml"}, p.Files)
	require.Equal(t, []string{here + "/" + goarchOf()}, p.Release.Platforms)

	// The package installs here as it is.
	in, err := New(w.pluginDir, WithPublisherKeys(pub(w.pubKey)), WithConsent(Yes))
	require.NoError(t, err)
	r, err := in.InstallFile(bg, p.Path)
	require.NoError(t, err)
	require.Equal(t, "1.0.0", r.Version)
	require.NoError(t, in.Verify())

	// An entry that is there but is no regular file is still refused.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "build", others[map[string]string{"linux": "windows", "darwin": "linux", "windows": "linux"}[here]]), 0o755))
	_, err = pkgindex.Pack(dir, filepath.Join(t.TempDir(), "x.tar.gz"), w.pubKey)
	requireCode(t, err, clawerr.UnsafeArchive)
}

// The index's errors carry codes: a directory that is not there is
// not_found.
func TestBuildIndexMissingDirIsNotFound(t *testing.T) {
	_, err := pkgindex.BuildIndex(filepath.Join(t.TempDir(), "nope"), newKey(t), pkgindex.IndexOptions{})
	requireCode(t, err, clawerr.NotFound)
	require.Contains(t, err.Error(), "index directory")
}
