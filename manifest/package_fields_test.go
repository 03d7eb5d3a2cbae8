package manifest_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"github.com/clawd-go/clawd/internal/sigkey"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/manifest"
)

// files: the extra files a package of the plugin holds.
func TestLoadFiles(t *testing.T) {
	dir := writeManifest(t, manifestfile.TOMLName, "name = \"echo\"\nversion = \"1.0.0\"\nentry = \"x.so\"\nfiles = [\"README\", \"data/words.txt\"]\n")
	m, err := manifest.LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"README", "data/words.txt"}, m.Files)
	for content, msg := range map[string]string{
		"files = \"README\"\n":        "files: want an array of paths",
		"files = [\"../x\"]\n":        "files[0]: path \"../x\" leaves the plugin directory",
		"files = [\"/etc/passwd\"]\n": "files[0]: path \"/etc/passwd\" is absolute",
		"files = [\"a\", \"a\"]\n":    "files[1]: \"a\" repeated",
		"files = [1]\n":               "files[0]: want a string",
	} {
		dir := writeManifest(t, manifestfile.TOMLName, "name = \"echo\"\nversion = \"1.0.0\"\nentry = \"x.so\"\n"+content)
		_, err := manifest.LoadDir(dir)
		e := clawErr(t, err, clawerr.ManifestInvalid)
		assert.Contains(t, e.Detail, msg)
	}
}

// An entry table key may name the machine too: GOOS_GOARCH wins over GOOS.
func TestLoadEntryPerPlatform(t *testing.T) {
	here := runtime.GOOS + "_" + runtime.GOARCH
	dir := writeManifest(t, manifestfile.TOMLName, "name = \"echo\"\nversion = \"1.0.0\"\n[entry]\n"+runtime.GOOS+" = \"generic.so\"\n"+here+" = \"exact.so\"\n")
	m, err := manifest.LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, "exact.so", m.Entry)
	assert.Len(t, m.Entries, 2)

	p, ok := manifest.EntryFor(map[string]string{"linux": "a", "linux_arm64": "b"}, "android", "arm64")
	assert.True(t, ok)
	assert.Equal(t, "b", p)
	p, _ = manifest.EntryFor(map[string]string{"linux": "a", "linux_arm64": "b"}, "linux", "amd64")
	assert.Equal(t, "a", p)
	_, ok = manifest.EntryFor(map[string]string{"linux_arm64": "b"}, "linux", "amd64")
	assert.False(t, ok)

	dir = writeManifest(t, manifestfile.TOMLName, "name = \"echo\"\nversion = \"1.0.0\"\n[entry]\n"+runtime.GOOS+" = \"a.so\"\nlinux_amd65 = \"b.so\"\n")
	_, err = manifest.LoadDir(dir)
	e := clawErr(t, err, clawerr.ManifestInvalid)
	assert.Contains(t, e.Detail, "entry.linux_amd65: unknown GOARCH \"amd65\"")
}

func TestKeyIDAndSignatureCheck(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	id := sigkey.KeyID(pub)
	sum := sha256.Sum256(pub)
	assert.Equal(t, "ed25519:"+hex.EncodeToString(sum[:8]), id)
	msg := []byte("a package's bytes")
	sig := sigkey.Sign(priv, msg)
	c := sigkey.NewSignatureCheck(pub, sig)
	c.Write(msg[:5])
	c.Write(msg[5:])
	assert.True(t, c.Valid())
	c = sigkey.NewSignatureCheck(pub, sig)
	c.Write(append([]byte{}, msg[:len(msg)-1]...))
	assert.False(t, c.Valid())
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	c = sigkey.NewSignatureCheck(other, sig)
	c.Write(msg)
	assert.False(t, c.Valid())
	c = sigkey.NewSignatureCheck(pub, "not base64!")
	c.Write(msg)
	assert.False(t, c.Valid())
}
