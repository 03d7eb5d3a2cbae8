package manifest_test

import (
	"crypto/ed25519"
	"errors"
	"github.com/clawd-go/clawd/internal/sigkey"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/entrysig"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/manifest"
)

// other is an entry table key that is not this system's.
var other = map[bool]string{true: "windows", false: "linux"}[runtime.GOOS == "linux"]

// tableDir is a plugin directory with an entry table: this system's key
// names the echo test plugin, other names stand-in bytes.
func tableDir(t *testing.T, extra string) (dir string, lib, otherBytes []byte) {
	t.Helper()
	var err error
	lib, err = os.ReadFile(cbuild.Plugin(t, "echo"))
	require.NoError(t, err)
	dir = t.TempDir()
	otherBytes = []byte("the other build\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "here.lib"), lib, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other.lib"), otherBytes, 0o644))
	toml := "name = \"echo\"\nversion = \"1.0.0\"\n" + extra + "[entry]\n" + runtime.GOOS + " = \"here.lib\"\n" + other + " = \"other.lib\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, manifestfile.TOMLName), []byte(toml), 0o644))
	return dir, lib, otherBytes
}

func TestSignaturesTableParse(t *testing.T) {
	_, priv := newKey(t)
	sig := sigkey.Sign(priv, []byte("x"))
	dir, _, _ := tableDir(t, "")
	path := filepath.Join(dir, manifestfile.TOMLName)
	base, err := os.ReadFile(path)
	require.NoError(t, err)
	write := func(s string) {
		require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
	}

	write(string(base) + "[signatures]\n" + runtime.GOOS + " = \"" + sig + "\"\n")
	m := load(t, dir)
	assert.Equal(t, runtime.GOOS, m.EntryKey)
	assert.Equal(t, sig, m.Signature, "Signature is this system's entry's")
	assert.Equal(t, map[string]string{runtime.GOOS: sig}, m.Signatures)
	assert.Equal(t, "entry."+runtime.GOOS+" (here.lib)", m.EntryName())

	// Only this system's key is signed elsewhere: this system is unsigned.
	write(string(base) + "[signatures]\n" + other + " = \"" + sig + "\"\n")
	assert.Equal(t, "", load(t, dir).Signature)

	for _, c := range []struct{ name, src, says string }{
		{"a key with no entry", string(base) + "[signatures]\nplan9 = \"" + sig + "\"\n", "signatures.plan9: no entry.plan9 to sign"},
		{"not a table", strings.Replace(string(base), "[entry]", "signatures = \"x\"\n[entry]", 1), "signatures: want a table"},
		{"a value not a string", string(base) + "[signatures]\n" + other + " = 3\n", "signatures." + other + ": want a string"},
		{"beside a top-level signature", strings.Replace(string(base), "[entry]", "signature = \""+sig+"\"\n[entry]", 1) + "[signatures]\n" + other + " = \"" + sig + "\"\n",
			"given together with a signatures table"},
	} {
		t.Run(c.name, func(t *testing.T) {
			write(c.src)
			_, err := manifest.LoadDir(dir)
			clawErr(t, err, clawerr.ManifestInvalid)
			assert.Contains(t, err.Error(), c.says)
		})
	}

	// A single entry has one signature.
	single := writeManifest(t, manifestfile.TOMLName, "name = \"x\"\nversion = \"1\"\nentry = \"x.so\"\n[signatures]\nlinux = \""+sig+"\"\n")
	_, err = manifest.LoadDir(single)
	clawErr(t, err, clawerr.ManifestInvalid)
	assert.Contains(t, err.Error(), "use signature = \"...\" instead")
}

// WriteSignatures adds a [signatures] table at the end, every other byte
// kept; run again it replaces a line, inserts a missing key under the
// header, and keeps the keys it is not given.
func TestWriteSignaturesTOML(t *testing.T) {
	_, priv := newKey(t)
	s1, s2, s3 := sigkey.Sign(priv, []byte("1")), sigkey.Sign(priv, []byte("2")), sigkey.Sign(priv, []byte("3"))
	dir, _, _ := tableDir(t, "# comment\n")
	path := filepath.Join(dir, manifestfile.TOMLName)
	base, err := os.ReadFile(path)
	require.NoError(t, err)

	require.NoError(t, manifestfile.WriteSignatures(path, map[string]string{runtime.GOOS: s1}))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(got), string(base)), string(got))
	assert.True(t, strings.HasSuffix(string(got), "\n[signatures]\n"+runtime.GOOS+" = \""+s1+"\"\n"), string(got))

	require.NoError(t, manifestfile.WriteSignatures(path, map[string]string{runtime.GOOS: s2, other: s3}))
	m := load(t, dir)
	assert.Equal(t, map[string]string{runtime.GOOS: s2, other: s3}, m.Signatures)
	require.NoError(t, manifestfile.WriteSignatures(path, map[string]string{other: s1}))
	assert.Equal(t, map[string]string{runtime.GOOS: s2, other: s1}, load(t, dir).Signatures, "the key not given is kept")
	got, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(got), "[signatures]"))

	// Refusals: a key with no entry, not a signature, the top-level
	// signature of a table-signed manifest.
	err = manifestfile.WriteSignatures(path, map[string]string{"plan9": s1})
	clawErr(t, err, clawerr.ManifestInvalid)
	err = manifestfile.WriteSignatures(path, map[string]string{other: "bm90IGEgc2lnbmF0dXJl"})
	clawErr(t, err, clawerr.SignatureInvalid)
	err = manifestfile.WriteSignature(path, s1)
	clawErr(t, err, clawerr.ManifestInvalid)
	assert.Contains(t, err.Error(), "signed one by one")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(got), string(after), "a refusal writes nothing")

	// A single entry: one signature, no table.
	single, _ := echoDir(t, "")
	err = manifestfile.WriteSignatures(filepath.Join(single, manifestfile.TOMLName), map[string]string{runtime.GOOS: s1})
	clawErr(t, err, clawerr.ManifestInvalid)
}

func TestWriteSignaturesJSON(t *testing.T) {
	_, priv := newKey(t)
	s1 := sigkey.Sign(priv, []byte("1"))
	legacy := sigkey.Sign(priv, []byte("legacy"))
	src := `{"name":"echo","version":"1.0.0","signature":"` + legacy + `","entry":{"` + runtime.GOOS + `":"here.lib","` + other + `":"other.lib"},"capabilities":[]}`
	dir := writeManifest(t, manifestfile.JSONName, src)
	path := filepath.Join(dir, manifestfile.JSONName)
	assert.Equal(t, legacy, load(t, dir).Signature, "a manifest written before per-entry signatures")
	require.NoError(t, manifestfile.WriteSignatures(path, map[string]string{other: s1}))
	m := load(t, dir)
	assert.Equal(t, map[string]string{other: s1}, m.Signatures)
	assert.Equal(t, "", m.Signature, "the top-level signature is emptied: the table replaces it")
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(got), "\"signature\": \"\",\n  \"signatures\": {")
}

// VerifyEntries checks each entry against its own signature; a changed
// entry fails, named, with signature_invalid; one not built is reported,
// not checked; an unsigned one under require is unsigned.
func TestVerifyEntries(t *testing.T) {
	pub, priv := newKey(t)
	dir, lib, otherBytes := tableDir(t, "")
	path := filepath.Join(dir, manifestfile.TOMLName)
	trust := manifest.Trust{Keys: []ed25519.PublicKey{pub}}

	checks, err := entrysig.Verify(trust, load(t, dir))
	clawErr(t, err, clawerr.Unsigned)
	require.Len(t, checks, 2)

	require.NoError(t, manifestfile.WriteSignatures(path, map[string]string{runtime.GOOS: sigkey.Sign(priv, lib), other: sigkey.Sign(priv, otherBytes)}))
	m := load(t, dir)
	checks, err = entrysig.Verify(trust, m)
	require.NoError(t, err)
	for _, c := range checks {
		assert.True(t, c.Built && c.Signed, "%+v", c)
		assert.NoError(t, c.Err)
	}
	v, err := trust.Verify(m, t.TempDir())
	require.NoError(t, err)
	assert.True(t, v.Signed)

	// The other entry changed: it alone fails, named.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other.lib"), []byte("the other build, patched\n"), 0o644))
	checks, err = entrysig.Verify(trust, m)
	e := clawErr(t, err, clawerr.SignatureInvalid)
	assert.Contains(t, e.Detail, "entry."+other+" (other.lib): the signature does not verify")
	for _, c := range checks {
		assert.Equal(t, c.Key == other, c.Err != nil, "%+v", c)
	}
	_, err = trust.Verify(m, t.TempDir())
	require.NoError(t, err, "this system's entry is still the one signed")

	// Not built here: reported, not checked.
	require.NoError(t, os.Remove(filepath.Join(dir, "other.lib")))
	checks, err = entrysig.Verify(trust, m)
	require.NoError(t, err)
	for _, c := range checks {
		assert.Equal(t, c.Key != other, c.Built, "%+v", c)
	}

	// This system's entry changed: Verify names it.
	lib[len(lib)/2] ^= 1
	require.NoError(t, os.WriteFile(filepath.Join(dir, "here.lib"), lib, 0o755))
	_, err = trust.Verify(m, t.TempDir())
	e = clawErr(t, err, clawerr.SignatureInvalid)
	assert.Contains(t, e.Detail, "entry."+runtime.GOOS+" (here.lib): the signature does not verify")
}

// A key file that is not there is not_found; one that holds no key is
// invalid_argument; the causes stay testable.
func TestKeyFileErrorsHaveCodes(t *testing.T) {
	dir := t.TempDir()
	_, err := sigkey.ReadPublicKeyFile(filepath.Join(dir, "none.pub"))
	clawErr(t, err, clawerr.NotFound)
	assert.True(t, errors.Is(err, fs.ErrNotExist))
	assert.Contains(t, err.Error(), "clawd-plugin keygen")
	_, err = sigkey.ReadPrivateKeyFile(filepath.Join(dir, "none.key"))
	clawErr(t, err, clawerr.NotFound)
	bad := filepath.Join(dir, "bad.key")
	require.NoError(t, os.WriteFile(bad, []byte("not a key"), 0o600))
	_, err = sigkey.ReadPrivateKeyFile(bad)
	clawErr(t, err, clawerr.InvalidArgument)
	assert.True(t, errors.Is(err, sigkey.ErrMalformedKey))
	_, err = sigkey.ReadPublicKeyFile(bad)
	clawErr(t, err, clawerr.InvalidArgument)
}
