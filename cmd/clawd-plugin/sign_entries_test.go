package main

import (
	"crypto/ed25519"
	"encoding/json"
	"github.com/clawd-go/clawd/internal/sigkey"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/manifest"
)

// otherOSes are entry table keys of systems other than this one.
func otherOSes() []string {
	var out []string
	for _, k := range []string{"darwin", "freebsd", "linux", "windows"} {
		if k != runtime.GOOS {
			out = append(out, k)
		}
	}
	return out[:2]
}

// multiPlatformDir is a plugin directory whose entry table lists this
// system's library and two others, every one built (the others hold
// stand-in bytes: sign and verify read them, only this system's entry is
// loaded).
func multiPlatformDir(t *testing.T) (dir string, entries map[string]string) {
	t.Helper()
	dir = t.TempDir()
	lib, err := os.ReadFile(cbuild.Plugin(t, "echo"))
	require.NoError(t, err)
	entries = map[string]string{runtime.GOOS: "build/libecho" + cbuild.LibExt}
	for i, k := range otherOSes() {
		entries[k] = "build/other" + string(rune('a'+i)) + ".bin"
	}
	toml := "name = \"echo\"\nversion = \"1.0.0\"\ncapabilities = [\"network.relay\"]\n\n[entry]\n"
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "build"), 0o755))
	for k, p := range entries {
		toml += k + " = \"" + p + "\"\n"
		data := lib
		if k != runtime.GOOS {
			data = []byte("the " + k + " build of echo\n")
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), data, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, manifestfile.TOMLName), []byte(toml), 0o644))
	return dir, entries
}

// A multi-platform manifest signed on one system verifies for every entry,
// each against its own signature; one entry's bytes changed fail that
// entry, named, with signature_invalid.
func TestSignVerifyEveryEntryOfAnEntryTable(t *testing.T) {
	keys := t.TempDir()
	priv, pub := keygenIn(t, keys, "author")
	dir, entries := multiPlatformDir(t)
	before, err := os.ReadFile(filepath.Join(dir, manifestfile.TOMLName))
	require.NoError(t, err)

	r := cli(t, "verify", "--pub", pub, dir)
	require.Equal(t, 1, r.exit)
	require.True(t, strings.HasPrefix(r.stdout, "unsigned: "), r.stdout)

	r = cli(t, "sign", "--key", priv, dir)
	require.Equal(t, 0, r.exit, r.stderr)
	after, err := os.ReadFile(filepath.Join(dir, manifestfile.TOMLName))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(after), string(before)), "sign only adds:\n%s", after)
	m, err := manifest.LoadDir(dir)
	require.NoError(t, err)
	require.Len(t, m.Signatures, 3, string(after))
	require.Equal(t, strings.TrimSpace(r.stdout), m.Signatures[runtime.GOOS], "sign prints this system's signature")

	r = cli(t, "verify", "--pub", pub, dir)
	require.Equal(t, 0, r.exit, r.stdout+r.stderr)
	for k, p := range entries {
		require.Contains(t, r.stdout, "entry."+k+" ("+p+")")
	}
	require.Equal(t, 3, strings.Count(r.stdout, "signed by a trusted key"), r.stdout)

	// One other platform's bytes changed: that entry fails, named.
	for _, k := range otherOSes()[:1] {
		p := filepath.Join(dir, filepath.FromSlash(entries[k]))
		require.NoError(t, os.WriteFile(p, []byte("the "+k+" build of echo, patched\n"), 0o644))
		r = cli(t, "verify", "--pub", pub, dir)
		require.Equal(t, 1, r.exit, r.stdout)
		require.True(t, strings.HasPrefix(r.stdout, "signature_invalid: "), r.stdout)
		require.Contains(t, r.stdout, "entry."+k+" ("+entries[k]+"): the signature does not verify")
		for _, o := range otherOSes()[1:] {
			require.NotContains(t, r.stdout, "entry."+o)
		}
	}
	// Signed again: the changed entry verifies; then this system's bytes
	// changed fail this system's entry, named.
	require.Equal(t, 0, cli(t, "sign", "--key", priv, dir).exit)
	require.Equal(t, 0, cli(t, "verify", "--pub", pub, dir).exit)
	lib := filepath.Join(dir, filepath.FromSlash(entries[runtime.GOOS]))
	data, err := os.ReadFile(lib)
	require.NoError(t, err)
	data[len(data)/3] ^= 0x40
	require.NoError(t, os.WriteFile(lib, data, 0o644))
	r = cli(t, "verify", "--pub", pub, dir)
	require.Equal(t, 1, r.exit, r.stdout)
	require.True(t, strings.HasPrefix(r.stdout, "signature_invalid: "), r.stdout)
	require.Contains(t, r.stdout, "entry."+runtime.GOOS+" ("+entries[runtime.GOOS]+"): the signature does not verify")
}

// An entry not built here is left unsigned by sign (a signature made
// where it was built is kept) and not checked by verify, which says so.
func TestSignVerifyEntriesNotBuiltHere(t *testing.T) {
	keys := t.TempDir()
	priv, pub := keygenIn(t, keys, "author")
	dir, entries := multiPlatformDir(t)
	gone := otherOSes()[1]
	require.NoError(t, os.Remove(filepath.Join(dir, filepath.FromSlash(entries[gone]))))
	r := cli(t, "sign", "--key", priv, dir)
	require.Equal(t, 0, r.exit, r.stderr)
	require.Contains(t, r.stderr, "note: not built here, left unsigned (or as signed before): entry."+gone+" ("+entries[gone]+")")
	r = cli(t, "verify", "--pub", pub, dir)
	require.Equal(t, 0, r.exit, r.stdout)
	require.Contains(t, r.stdout, "note: entry."+gone+" ("+entries[gone]+"): not built here, not checked")

	// Built and signed elsewhere: the other machine's signature stays when
	// this one signs again.
	m, err := manifest.LoadDir(dir)
	require.NoError(t, err)
	_, elsewhere, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	require.NoError(t, manifestfile.WriteSignatures(m.Path, map[string]string{gone: sigkey.Sign(elsewhere, []byte("x"))}))
	require.Equal(t, 0, cli(t, "sign", "--key", priv, dir).exit)
	m2, err := manifest.LoadDir(dir)
	require.NoError(t, err)
	require.Equal(t, sigkey.Sign(elsewhere, []byte("x")), m2.Signatures[gone])
}

// A multi-platform manifest signed before per-entry signatures (one
// top-level signature over this system's entry) still verifies; verify
// warns that the other entries are not covered. Signing again moves it
// to per-entry signatures.
func TestVerifyLegacyMultiPlatformSignature(t *testing.T) {
	keys := t.TempDir()
	priv, pub := keygenIn(t, keys, "author")
	dir, entries := multiPlatformDir(t)
	r := cli(t, "sign", "--key", priv, "--print", dir)
	require.Equal(t, 0, r.exit, r.stderr)
	sig := strings.TrimSpace(r.stdout)
	mpath := filepath.Join(dir, manifestfile.TOMLName)
	src, err := os.ReadFile(mpath)
	require.NoError(t, err)
	legacy := strings.Replace(string(src), "version = \"1.0.0\"\n", "version = \"1.0.0\"\nsignature = \""+sig+"\"\n", 1)
	require.NoError(t, os.WriteFile(mpath, []byte(legacy), 0o644))

	r = cli(t, "verify", "--pub", pub, dir)
	require.Equal(t, 0, r.exit, r.stdout)
	for _, k := range otherOSes() {
		require.Contains(t, r.stdout, "warning: entry."+k+" ("+entries[k]+"): not signed: the manifest's one signature covers the "+runtime.GOOS+" entry only")
	}
	require.Equal(t, 0, cli(t, "sign", "--key", priv, dir).exit)
	m, err := manifest.LoadDir(dir)
	require.NoError(t, err)
	require.Len(t, m.Signatures, 3)
	got, err := os.ReadFile(mpath)
	require.NoError(t, err)
	require.Contains(t, string(got), "signature = \"\"\n", "the top-level signature the table replaces is emptied")
	r = cli(t, "verify", "--pub", pub, dir)
	require.Equal(t, 0, r.exit, r.stdout)
	require.NotContains(t, r.stdout, "warning")
}

// The project `new` writes, built, packs, signs and verifies as written:
// pack names the entries it leaves out (not built here), sign signs the
// one built, verify accepts it, and the signed project packs again.
func TestPackSignVerifyNewProjectAsWritten(t *testing.T) {
	for _, lang := range []string{"c", "rust", "zig"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			_, build := newProjectBuild(t, lang)
			root := t.TempDir()
			name := "pk-" + lang
			dir := filepath.Join(root, name)
			r := cli(t, "new", "--lang", lang, name, dir)
			require.Equal(t, 0, r.exit, r.stderr)
			if out, err := cbuild.Run(dir, nil, build...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			m, err := manifest.LoadDir(dir)
			require.NoError(t, err)
			var leftOut []string
			for _, k := range []string{"darwin", "linux", "windows"} {
				if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(m.Entries[k]))); err != nil {
					leftOut = append(leftOut, "entry."+k+" ("+m.Entries[k]+")")
				}
			}
			require.NotEmpty(t, leftOut, "one system builds only its own library")
			_, _ = keygenIn(t, root, "author")
			key, pub := filepath.Join(root, "author.key"), filepath.Join(root, "author.pub")

			r = cli(t, "pack", "--key", key, dir, "-o", filepath.Join(root, "out", name+".tar.gz"))
			require.Equal(t, 0, r.exit, r.stdout+r.stderr)
			require.Contains(t, r.stdout, "note: left out "+strings.Join(leftOut, ", ")+": not built here")

			r = cli(t, "sign", "--key", key, dir)
			require.Equal(t, 0, r.exit, r.stdout+r.stderr)
			r = cli(t, "verify", "--pub", pub, dir)
			require.Equal(t, 0, r.exit, r.stdout+r.stderr)
			require.Contains(t, r.stdout, "ok: "+name+" 0.1.0: entry."+m.EntryKey)

			r = cli(t, "pack", "--json", "--key", key, dir, "-o", filepath.Join(root, "out", name+"-signed.tar.gz"))
			require.Equal(t, 0, r.exit, r.stdout+r.stderr)
			var packed struct {
				LeftOut   []string `json:"left_out"`
				Platforms []string
			}
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &packed))
			require.Equal(t, leftOut, packed.LeftOut)
			require.Equal(t, []string{runtime.GOOS + "/" + runtime.GOARCH}, packed.Platforms)
		})
	}
}
