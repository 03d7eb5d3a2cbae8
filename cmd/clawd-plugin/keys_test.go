package main

import (
	"bytes"
	"github.com/clawd-go/clawd/internal/sigkey"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/manifest"
)

// keygenIn runs keygen --out dir/name and returns the two file paths.
func keygenIn(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	prefix := filepath.Join(dir, name)
	r := cli(t, "keygen", "--out", prefix)
	require.Equal(t, 0, r.exit, "stderr: %s", r.stderr)
	pubBytes, err := os.ReadFile(prefix + ".pub")
	require.NoError(t, err)
	assert.Equal(t, string(pubBytes), r.stdout, "keygen prints the public key")
	return prefix + ".key", prefix + ".pub"
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	privPath, pubPath := keygenIn(t, dir, "me")
	priv, err := sigkey.ReadPrivateKeyFile(privPath)
	require.NoError(t, err)
	pub, err := sigkey.ReadPublicKeyFile(pubPath)
	require.NoError(t, err)
	assert.Equal(t, pub, priv.Public())
	if runtime.GOOS != "windows" {
		st, err := os.Stat(privPath)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	}

	// Existing files are never overwritten, either of the two.
	before, _ := os.ReadFile(privPath)
	r := cli(t, "keygen", "--out", filepath.Join(dir, "me"))
	assert.Equal(t, 1, r.exit)
	assert.Contains(t, r.stderr, "me.key exists; refusing to overwrite it")
	after, _ := os.ReadFile(privPath)
	assert.Equal(t, before, after)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "half.pub"), []byte("x"), 0o644))
	r = cli(t, "keygen", "--out", filepath.Join(dir, "half"))
	assert.Equal(t, 1, r.exit)
	assert.Contains(t, r.stderr, "half.pub exists")
	_, err = os.Stat(filepath.Join(dir, "half.key"))
	assert.ErrorIs(t, err, os.ErrNotExist, "a refusal writes nothing")

	// The default prefix, in the working directory (in process: the built
	// binary's path is relative to the package directory).
	t.Chdir(t.TempDir())
	var out, errb bytes.Buffer
	require.Equal(t, 0, keygen(nil, &out, &errb), errb.String())
	data, err := os.ReadFile("clawd-plugin.pub")
	require.NoError(t, err)
	assert.Equal(t, string(data), out.String())
	_, err = sigkey.ReadPrivateKeyFile("clawd-plugin.key")
	require.NoError(t, err)
}

// signedPluginDir is a plugin directory with the echo test plugin and the given manifest.
func signedPluginDir(t *testing.T, file, content string) (dir string, lib string) {
	t.Helper()
	data, err := os.ReadFile(cbuild.Plugin(t, "echo"))
	require.NoError(t, err)
	dir = t.TempDir()
	lib = filepath.Join(dir, "libecho"+cbuild.LibExt)
	require.NoError(t, os.WriteFile(lib, data, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644))
	return dir, lib
}

// keygen, sign, verify end to end, in both formats; then a tampered library
// fails verify with signature_invalid.
func TestSignVerify(t *testing.T) {
	keys := t.TempDir()
	priv, pub := keygenIn(t, keys, "author")
	_, otherPub := keygenIn(t, keys, "other")

	tomlSrc := "# my plugin\nname = \"echo\"\nversion = \"1.0.0\"  # bump me\nentry = \"libecho" + cbuild.LibExt + "\"\ncapabilities = [\"network.relay\"]\n"
	jsonSrc := "{\"name\":\"echo\",\"version\":\"1.0.0\",\"runtime\":\"dylib\",\"entry\":\"libecho" + cbuild.LibExt + "\",\"capabilities\":[],\"signature\":\"\"}"
	for file, src := range map[string]string{manifestfile.TOMLName: tomlSrc, manifestfile.JSONName: jsonSrc} {
		t.Run(file, func(t *testing.T) {
			dir, lib := signedPluginDir(t, file, src)
			mpath := filepath.Join(dir, file)

			// Unsigned: verify says so.
			r := cli(t, "verify", "--pub", pub, dir)
			assert.Equal(t, 1, r.exit)
			assert.True(t, strings.HasPrefix(r.stdout, "unsigned: "), r.stdout)

			// --print prints and leaves the manifest alone.
			r = cli(t, "sign", "--key", priv, "--print", dir)
			require.Equal(t, 0, r.exit, r.stderr)
			sig := strings.TrimSpace(r.stdout)
			assert.Len(t, sig, 88)
			got, _ := os.ReadFile(mpath)
			assert.Equal(t, src, string(got))

			// sign writes the same signature (Ed25519 is deterministic).
			r = cli(t, "sign", "--key", priv, mpath)
			require.Equal(t, 0, r.exit, r.stderr)
			assert.Equal(t, sig+"\n", r.stdout)
			m, err := manifest.Load(mpath)
			require.NoError(t, err)
			assert.Equal(t, sig, m.Signature)
			if file == manifestfile.TOMLName {
				got, _ := os.ReadFile(mpath)
				want := strings.Replace(src, "# bump me\n", "# bump me\nsignature = \""+sig+"\"\n", 1)
				assert.Equal(t, want, string(got), "one line added, the rest as it was")
			}

			r = cli(t, "verify", "--pub", otherPub, "--pub", pub, dir)
			assert.Equal(t, 0, r.exit, r.stdout+r.stderr)
			assert.Contains(t, r.stdout, "ok: echo 1.0.0: libecho"+cbuild.LibExt+" signed by a trusted key (sha256 ")

			// Only the other key: not trusted.
			r = cli(t, "verify", "--pub", otherPub, mpath)
			assert.Equal(t, 1, r.exit)
			assert.True(t, strings.HasPrefix(r.stdout, "signature_invalid: "), r.stdout)

			// Tamper with the library.
			data, err := os.ReadFile(lib)
			require.NoError(t, err)
			data[len(data)/3] ^= 0x40
			require.NoError(t, os.WriteFile(lib, data, 0o755))
			r = cli(t, "verify", "--pub", pub, dir)
			assert.Equal(t, 1, r.exit)
			assert.True(t, strings.HasPrefix(r.stdout, "signature_invalid: "), r.stdout)
			assert.Contains(t, r.stdout, "does not verify with any of the 1 trusted keys")

			// Re-signing the tampered bytes makes them verify again.
			require.Equal(t, 0, cli(t, "sign", "--key", priv, dir).exit)
			assert.Equal(t, 0, cli(t, "verify", "--pub", pub, dir).exit)
		})
	}
}

func TestVerifyPin(t *testing.T) {
	keys := t.TempDir()
	priv, pub := keygenIn(t, keys, "k")
	src := "name = \"echo\"\nversion = \"1\"\nentry = \"libecho" + cbuild.LibExt + "\"\nsha256 = \"" + strings.Repeat("0", 64) + "\"\n"
	dir, _ := signedPluginDir(t, manifestfile.TOMLName, src)
	r := cli(t, "sign", "--key", priv, dir)
	require.Equal(t, 0, r.exit)
	assert.Contains(t, r.stderr, "warning: the manifest's sha256 pin does not match")
	r = cli(t, "verify", "--pub", pub, dir)
	assert.Equal(t, 1, r.exit)
	assert.True(t, strings.HasPrefix(r.stdout, "checksum_mismatch: "), r.stdout)
}

func TestKeysVerbsFailures(t *testing.T) {
	keys := t.TempDir()
	priv, pub := keygenIn(t, keys, "k")
	dir, _ := signedPluginDir(t, manifestfile.TOMLName, "name = \"echo\"\nversion = \"1\"\nentry = \"libecho"+cbuild.LibExt+"\"\ncapabilities = [\"net\"]\n")

	r := cli(t, "verify", "--pub", pub, dir)
	assert.Equal(t, 1, r.exit)
	assert.Equal(t, "capability_unknown: "+dir+": manifest: plugin.toml:4: capabilities[0]: unknown capability \"net\" (known: fs.read, fs.write, network.relay, daemon.rpc)\n", r.stdout)

	r = cli(t, "sign", "--key", priv, dir)
	assert.Equal(t, 1, r.exit)
	assert.Contains(t, r.stderr, "capability_unknown: ")

	empty := t.TempDir()
	r = cli(t, "verify", "--pub", pub, empty)
	assert.Equal(t, 1, r.exit)
	assert.Contains(t, r.stdout, "manifest_invalid: ")

	// A public key where the private one belongs, and the reverse.
	r = cli(t, "sign", "--key", pub, dir)
	assert.Equal(t, 1, r.exit)
	assert.Contains(t, r.stderr, "malformed Ed25519 key")
	r = cli(t, "verify", "--pub", priv, dir)
	assert.Equal(t, 1, r.exit)
	assert.Contains(t, r.stdout, "this looks like a private key")
	r = cli(t, "verify", "--pub", filepath.Join(keys, "missing.pub"), dir)
	assert.Equal(t, 1, r.exit)
}

func TestKeysVerbsUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"keygen", "extra"}, "no arguments expected"},
		{[]string{"keygen", "--out", ""}, "no arguments expected"},
		{[]string{"keygen", "--bogus"}, "unknown flag --bogus"},
		{[]string{"sign", "dir"}, "--key FILE is required"},
		{[]string{"sign", "--key", "k"}, "one DIR or MANIFEST expected, got 0 arguments"},
		{[]string{"sign", "--key", "k", "a", "b"}, "one DIR or MANIFEST expected, got 2 arguments"},
		{[]string{"verify", "dir"}, "at least one --pub FILE is required"},
		{[]string{"verify", "--pub", "k"}, "one DIR or MANIFEST expected, got 0 arguments"},
		{[]string{"verify", "dir", "--pub"}, "flag needs an argument: -pub"},
	} {
		r := cli(t, tc.args...)
		if r.exit != 2 || r.stdout != "" || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, r.exit, r.stdout, r.stderr, tc.stderr)
		}
	}
}
