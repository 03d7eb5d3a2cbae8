package manifest_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
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

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/loader"
	"github.com/clawd-go/clawd/manifest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return pub, priv
}

// echoDir is a plugin directory holding a copy of the echo test plugin as
// libecho<ext> and a plugin.toml whose extra lines follow name, version and
// entry. It returns the directory and the library's bytes.
func echoDir(t *testing.T, extra string) (string, []byte) {
	t.Helper()
	lib, err := os.ReadFile(cbuild.Plugin(t, "echo"))
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "libecho"+cbuild.LibExt), lib, 0o755))
	writeTOML(t, dir, extra)
	return dir, lib
}

func writeTOML(t *testing.T, dir, extra string) {
	t.Helper()
	toml := "name = \"echo\"\nversion = \"1.0.0\"\nentry = \"libecho" + cbuild.LibExt + "\"\ncapabilities = [\"network.relay\"]\n" + extra
	require.NoError(t, os.WriteFile(filepath.Join(dir, manifestfile.TOMLName), []byte(toml), 0o644))
}

func load(t *testing.T, dir string) *manifest.Manifest {
	t.Helper()
	m, err := manifest.LoadDir(dir)
	require.NoError(t, err)
	return m
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// A signed plugin, end to end: sign the library's bytes, pin them, verify
// under require, open the copy Verify returns and call it.
func TestVerifySignedEndToEnd(t *testing.T) {
	pub, priv := newKey(t)
	other, _ := newKey(t)
	dir, lib := echoDir(t, "")
	writeTOML(t, dir, "signature = \""+sigkey.Sign(priv, lib)+"\"\nsha256 = \""+hexSum(lib)+"\"\n")
	m := load(t, dir)

	copies := filepath.Join(t.TempDir(), "copies")
	v, err := manifest.Trust{Keys: []ed25519.PublicKey{other, pub}, Policy: manifest.PolicyRequire}.Verify(m, copies)
	require.NoError(t, err)
	t.Cleanup(func() { os.Remove(v.Path) })
	assert.True(t, v.Signed)
	assert.Empty(t, v.Warnings)
	assert.Equal(t, hexSum(lib), v.SHA256)

	p, err := loader.Open(v.Path, clawd.WithCapabilities(m.Capabilities...))
	require.NoError(t, err)
	defer p.Close()
	assert.Equal(t, "echo", p.Name())
	assert.Equal(t, "1.0.0", p.Version())
	require.NoError(t, p.Call(context.Background(), clawd.SessionStart("s1")))
	require.NoError(t, p.Call(context.Background(), clawd.ToolCall("s1", "grep", `{"pattern":"x"}`)))
	assert.Equal(t, []abi.Capability{abi.CapNetworkRelay}, m.Capabilities)
}

// The copy: a new unique path on every Verify, in a private directory,
// exactly the verified bytes, read and execute only, named after the plugin
// with the entry's extension, and not changed by later changes to the
// original.
func TestVerifyCopy(t *testing.T) {
	pub, priv := newKey(t)
	dir, lib := echoDir(t, "")
	writeTOML(t, dir, "signature = \""+sigkey.Sign(priv, lib)+"\"\n")
	m := load(t, dir)
	copies := filepath.Join(t.TempDir(), "a", "copies")
	trust := manifest.Trust{Keys: []ed25519.PublicKey{pub}}

	seen := map[string]bool{}
	var first *manifest.Verified
	for range 5 {
		v, err := trust.Verify(m, copies)
		require.NoError(t, err)
		assert.False(t, seen[v.Path], "path %s handed out twice", v.Path)
		seen[v.Path] = true
		assert.True(t, filepath.IsAbs(v.Path))
		assert.Equal(t, copies, filepath.Dir(v.Path))
		base := filepath.Base(v.Path)
		assert.True(t, strings.HasPrefix(base, "echo-"), base)
		assert.Equal(t, cbuild.LibExt, filepath.Ext(base))
		got, err := os.ReadFile(v.Path)
		require.NoError(t, err)
		assert.Equal(t, lib, got)
		if first == nil {
			first = v
		}
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(first.Path)
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o500), st.Mode().Perm())
		st, err = os.Stat(copies)
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o700), st.Mode().Perm())
	}

	// Replace the original: the copies keep the bytes that were verified.
	require.NoError(t, os.WriteFile(m.EntryPath(), []byte("not a library"), 0o755))
	got, err := os.ReadFile(first.Path)
	require.NoError(t, err)
	assert.Equal(t, lib, got)
	_, err = trust.Verify(m, copies)
	clawErr(t, err, clawerr.SignatureInvalid)
	entries, err := os.ReadDir(copies)
	require.NoError(t, err)
	assert.Len(t, entries, 5, "a refused entry leaves no copy")
}

func TestVerifyFailures(t *testing.T) {
	pub, priv := newKey(t)
	stranger, strangerPriv := newKey(t)
	_ = stranger
	_, lib := echoDir(t, "")
	flipped := append([]byte(nil), lib...)
	flipped[len(flipped)/2] ^= 0x01
	good := sigkey.Sign(priv, lib)

	cases := []struct {
		name   string
		bytes  []byte // the library on disk (default lib)
		extra  string // manifest lines
		keys   []ed25519.PublicKey
		policy manifest.Policy
		code   clawerr.Code
		detail string
	}{
		{name: "flipped byte", bytes: flipped, extra: "signature = \"" + good + "\"\n", policy: manifest.PolicyRequire,
			code: clawerr.SignatureInvalid, detail: "libecho" + cbuild.LibExt + ": the signature does not verify with any of the 1 trusted keys"},
		{name: "flipped byte under warn", bytes: flipped, extra: "signature = \"" + good + "\"\n", policy: manifest.PolicyWarn,
			code: clawerr.SignatureInvalid, detail: "libecho" + cbuild.LibExt + ": the signature does not verify with any of the 1 trusted keys"},
		{name: "untrusted key", extra: "signature = \"" + sigkey.Sign(strangerPriv, lib) + "\"\n", policy: manifest.PolicyRequire,
			code: clawerr.SignatureInvalid, detail: "libecho" + cbuild.LibExt + ": the signature does not verify with any of the 1 trusted keys"},
		{name: "not base64", extra: "signature = \"not base64!\"\n", policy: manifest.PolicyRequire,
			code: clawerr.SignatureInvalid, detail: "libecho" + cbuild.LibExt + ": the signature is not base64 of 64 bytes"},
		{name: "short signature", extra: "signature = \"c2hvcnQ=\"\n", policy: manifest.PolicyRequire,
			code: clawerr.SignatureInvalid, detail: "libecho" + cbuild.LibExt + ": the signature is not base64 of 64 bytes"},
		{name: "unsigned under require", policy: manifest.PolicyRequire,
			code: clawerr.Unsigned, detail: "the manifest has no signature and the policy requires one: sign it (clawd-plugin sign --key KEY DIR)"},
		{name: "no trusted keys under require", extra: "signature = \"" + good + "\"\n", keys: []ed25519.PublicKey{}, policy: manifest.PolicyRequire,
			code: clawerr.SignatureInvalid, detail: "no trusted keys to verify the signature with"},
		{name: "wrong pin", extra: "signature = \"" + good + "\"\nsha256 = \"" + strings.Repeat("ab", 32) + "\"\n", policy: manifest.PolicyRequire,
			code: clawerr.ChecksumMismatch, detail: "libecho" + cbuild.LibExt + ": sha256 is " + hexSum(lib) + ", the manifest pins " + strings.Repeat("ab", 32)},
		{name: "wrong pin under off", extra: "sha256 = \"" + strings.Repeat("ab", 32) + "\"\n", policy: manifest.PolicyOff,
			code: clawerr.ChecksumMismatch, detail: "libecho" + cbuild.LibExt + ": sha256 is " + hexSum(lib) + ", the manifest pins " + strings.Repeat("ab", 32)},
		{name: "pin of other bytes", bytes: flipped, extra: "sha256 = \"" + hexSum(lib) + "\"\n", policy: manifest.PolicyOff,
			code: clawerr.ChecksumMismatch, detail: "libecho" + cbuild.LibExt + ": sha256 is " + hexSum(flipped) + ", the manifest pins " + hexSum(lib)},
		{name: "unknown policy", policy: manifest.Policy(7), extra: "signature = \"" + good + "\"\n",
			code: clawerr.SignatureInvalid, detail: "unknown policy Policy(7)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, _ := echoDir(t, c.extra)
			if c.bytes != nil {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "libecho"+cbuild.LibExt), c.bytes, 0o755))
			}
			keys := c.keys
			if keys == nil {
				keys = []ed25519.PublicKey{pub}
			}
			copies := t.TempDir()
			v, err := manifest.Trust{Keys: keys, Policy: c.policy}.Verify(load(t, dir), copies)
			assert.Nil(t, v)
			ce := clawErr(t, err, c.code)
			assert.Equal(t, c.detail, ce.Detail)
			assert.Equal(t, "echo", ce.Plugin)
			assert.Equal(t, "verify", ce.Op)
			entries, err := os.ReadDir(copies)
			require.NoError(t, err)
			assert.Empty(t, entries, "a refused entry leaves no copy")
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	pub, priv := newKey(t)
	_, lib := echoDir(t, "")
	good := sigkey.Sign(priv, lib)
	cases := []struct {
		name     string
		extra    string
		keys     []ed25519.PublicKey
		policy   manifest.Policy
		signed   bool
		warnings []string
	}{
		{"signed under warn", "signature = \"" + good + "\"\n", []ed25519.PublicKey{pub}, manifest.PolicyWarn, true, nil},
		{"unsigned under warn", "", []ed25519.PublicKey{pub}, manifest.PolicyWarn, false, []string{"unsigned (policy warn)"}},
		{"not base64 under warn", "signature = \"not base64!\"\n", []ed25519.PublicKey{pub}, manifest.PolicyWarn, false, []string{"malformed signature, not base64 of 64 bytes (policy warn)"}},
		{"short signature under warn", "signature = \"c2hvcnQ=\"\n", []ed25519.PublicKey{pub}, manifest.PolicyWarn, false, []string{"malformed signature, not base64 of 64 bytes (policy warn)"}},
		{"unsigned under off", "", nil, manifest.PolicyOff, false, nil},
		{"garbage signature under off", "signature = \"garbage\"\n", nil, manifest.PolicyOff, false, []string{"signature not checked (policy off)"}},
		{"signed, no keys, under warn", "signature = \"" + good + "\"\n", nil, manifest.PolicyWarn, false, []string{"signature not checked: no trusted keys (policy warn)"}},
		{"right pin under off", "sha256 = \"" + strings.ToUpper(hexSum(lib)) + "\"\n", nil, manifest.PolicyOff, false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, _ := echoDir(t, c.extra)
			v, err := manifest.Trust{Keys: c.keys, Policy: c.policy}.Verify(load(t, dir), t.TempDir())
			require.NoError(t, err)
			assert.Equal(t, c.signed, v.Signed)
			assert.Equal(t, c.warnings, v.Warnings)
			got, err := os.ReadFile(v.Path)
			require.NoError(t, err)
			assert.Equal(t, lib, got)
		})
	}
}

// A plugin directory written for the reference daemon loads under warn
// (with a warning) and is refused under require.
func TestVerifyReferenceDaemonManifest(t *testing.T) {
	lib, err := os.ReadFile(cbuild.Plugin(t, "echo"))
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "libecho"+cbuild.LibExt), lib, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, manifestfile.JSONName), []byte(`{
  "name": "echo",
  "version": "1.0.0",
  "description": "echoes",
  "author": "someone",
  "runtime": "dylib",
  "entry": "libecho`+cbuild.LibExt+`",
  "capabilities": [],
  "signature": ""
}
`), 0o644))
	m := load(t, dir)
	pub, _ := newKey(t)

	v, err := manifest.Trust{Keys: []ed25519.PublicKey{pub}, Policy: manifest.PolicyWarn}.Verify(m, t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, []string{"unsigned (policy warn)"}, v.Warnings)
	assert.False(t, v.Signed)
	p, err := loader.Open(v.Path, clawd.WithCapabilities(m.Capabilities...))
	require.NoError(t, err)
	assert.Equal(t, "echo", p.Name())
	require.NoError(t, p.Close())

	_, err = manifest.Trust{Keys: []ed25519.PublicKey{pub}, Policy: manifest.PolicyRequire}.Verify(m, t.TempDir())
	clawErr(t, err, clawerr.Unsigned)
}

func TestVerifyEntryMissing(t *testing.T) {
	dir, _ := echoDir(t, "")
	require.NoError(t, os.Remove(filepath.Join(dir, "libecho"+cbuild.LibExt)))
	_, err := manifest.Trust{Policy: manifest.PolicyOff}.Verify(load(t, dir), t.TempDir())
	clawErr(t, err, clawerr.OpenFailed)
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestVerifyEntryNotRegular(t *testing.T) {
	dir, _ := echoDir(t, "")
	p := filepath.Join(dir, "libecho"+cbuild.LibExt)
	require.NoError(t, os.Remove(p))
	require.NoError(t, os.Mkdir(p, 0o755))
	_, err := manifest.Trust{Policy: manifest.PolicyOff}.Verify(load(t, dir), t.TempDir())
	ce := clawErr(t, err, clawerr.OpenFailed)
	assert.Contains(t, ce.Error(), "not a regular file")
}

func TestVerifyCopyDir(t *testing.T) {
	dir, _ := echoDir(t, "")
	m := load(t, dir)
	off := manifest.Trust{Policy: manifest.PolicyOff}

	_, err := off.Verify(m, "")
	clawErr(t, err, clawerr.OpenFailed)

	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = off.Verify(m, file)
	clawErr(t, err, clawerr.OpenFailed)

	if runtime.GOOS == "windows" {
		return
	}
	open := t.TempDir()
	require.NoError(t, os.Chmod(open, 0o777))
	_, err = off.Verify(m, open)
	ce := clawErr(t, err, clawerr.OpenFailed)
	assert.Contains(t, ce.Error(), "writable by others")

	// Sticky like /tmp: others cannot replace what we create there.
	require.NoError(t, os.Chmod(open, 0o777|os.ModeSticky))
	v, err := off.Verify(m, open)
	require.NoError(t, err)
	assert.Equal(t, open, filepath.Dir(v.Path))
}

func TestVerifyNilManifest(t *testing.T) {
	_, err := manifest.Trust{}.Verify(nil, t.TempDir())
	clawErr(t, err, clawerr.ManifestInvalid)
}

func TestPolicy(t *testing.T) {
	var zero manifest.Policy
	assert.Equal(t, manifest.PolicyRequire, zero, "the zero policy fails closed")
	for _, p := range []manifest.Policy{manifest.PolicyRequire, manifest.PolicyWarn, manifest.PolicyOff} {
		got, err := manifest.ParsePolicy(p.String())
		require.NoError(t, err)
		assert.Equal(t, p, got)
	}
	assert.Equal(t, "require", manifest.PolicyRequire.String())
	assert.Equal(t, "warn", manifest.PolicyWarn.String())
	assert.Equal(t, "off", manifest.PolicyOff.String())
	assert.Equal(t, "Policy(-1)", manifest.Policy(-1).String())
	for _, bad := range []string{"", "Require", "strict", "on"} {
		_, err := manifest.ParsePolicy(bad)
		assert.Error(t, err, bad)
	}
}

func TestKeys(t *testing.T) {
	pub, priv := newKey(t)
	got, err := sigkey.ParsePublicKey("  " + sigkey.EncodePublicKey(pub) + "\n")
	require.NoError(t, err)
	assert.Equal(t, pub, got)
	gotPriv, err := sigkey.ParsePrivateKey(sigkey.EncodePrivateKey(priv) + "\r\n")
	require.NoError(t, err)
	assert.Equal(t, priv, gotPriv)
	assert.Len(t, sigkey.EncodePublicKey(pub), 44)
	assert.Len(t, sigkey.EncodePrivateKey(priv), 88)

	// A signature is base64 of 64 bytes and verifies with the public key.
	sig := sigkey.Sign(priv, []byte("library bytes"))
	assert.Len(t, sig, 88)

	_, other := newKey(t)
	spliced := append(append([]byte(nil), priv[:32]...), other[32:]...)
	for name, c := range map[string]struct {
		s       string
		private bool
	}{
		"public not base64":  {"@@@", false},
		"public short":       {"c2hvcnQ=", false},
		"public is private":  {sigkey.EncodePrivateKey(priv), false},
		"private is public":  {sigkey.EncodePublicKey(pub), true},
		"private not base64": {"@@@", true},
		"private spliced":    {sigkey.EncodePrivateKey(spliced), true},
		"empty":              {"", false},
	} {
		var err error
		if c.private {
			_, err = sigkey.ParsePrivateKey(c.s)
		} else {
			_, err = sigkey.ParsePublicKey(c.s)
		}
		assert.ErrorIs(t, err, sigkey.ErrMalformedKey, name)
	}
	_, err = sigkey.ParsePublicKey(sigkey.EncodePrivateKey(priv))
	assert.ErrorContains(t, err, "this looks like a private key")
}

func TestKeyFiles(t *testing.T) {
	pub, priv := newKey(t)
	dir := t.TempDir()
	pubFile, privFile := filepath.Join(dir, "k.pub"), filepath.Join(dir, "k.key")
	require.NoError(t, os.WriteFile(pubFile, []byte(sigkey.EncodePublicKey(pub)+"\n"), 0o644))
	require.NoError(t, os.WriteFile(privFile, []byte(sigkey.EncodePrivateKey(priv)+"\n"), 0o600))
	gotPub, err := sigkey.ReadPublicKeyFile(pubFile)
	require.NoError(t, err)
	assert.Equal(t, pub, gotPub)
	gotPriv, err := sigkey.ReadPrivateKeyFile(privFile)
	require.NoError(t, err)
	assert.Equal(t, priv, gotPriv)

	_, err = sigkey.ReadPublicKeyFile(privFile)
	assert.ErrorIs(t, err, sigkey.ErrMalformedKey)
	assert.ErrorContains(t, err, privFile)
	_, err = sigkey.ReadPrivateKeyFile(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.False(t, errors.Is(err, sigkey.ErrMalformedKey))
}
