package manifest_test

import (
	"github.com/clawd-go/clawd/internal/sigkey"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/manifestfile"
)

func TestWriteSignatureTOML(t *testing.T) {
	_, priv := newKey(t)
	sig := sigkey.Sign(priv, []byte("lib"))
	line := `signature = "` + sig + `"`
	cases := []struct{ name, in, out string }{
		{"inserted after version",
			"# header\nname = \"x\"\nversion = \"1\"   # the version\n\nentry = \"x.so\"\n# end\n",
			"# header\nname = \"x\"\nversion = \"1\"   # the version\n" + line + "\n\nentry = \"x.so\"\n# end\n"},
		{"replaced, comment kept",
			"name = \"x\"\nversion = \"1\"\nsignature = \"\"  # filled by clawd-plugin sign\nentry = \"x.so\"\n",
			"name = \"x\"\nversion = \"1\"\n" + line + "  # filled by clawd-plugin sign\nentry = \"x.so\"\n"},
		{"replaced, quoted key and literal string",
			"name = \"x\"\n\"signature\"='old'\nversion = \"1\"\nentry = \"x.so\"",
			"name = \"x\"\n" + line + "\nversion = \"1\"\nentry = \"x.so\""},
		{"replaced, multi-line string",
			"name = \"x\"\nversion = \"1\"\nsignature = \"\"\"\nold\n\"\"\"\nentry = \"x.so\"\n",
			"name = \"x\"\nversion = \"1\"\n" + line + "\nentry = \"x.so\"\n"},
		{"CRLF",
			"name = \"x\"\r\nversion = \"1\"\r\nentry = \"x.so\"\r\n",
			"name = \"x\"\r\nversion = \"1\"\r\n" + line + "\r\nentry = \"x.so\"\r\n"},
		{"version on the last line without newline",
			"name = \"x\"\nentry = \"x.so\"\nversion = \"1\"",
			"name = \"x\"\nentry = \"x.so\"\nversion = \"1\"\n" + line},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeManifest(t, manifestfile.TOMLName, c.in)
			path := filepath.Join(dir, manifestfile.TOMLName)
			require.NoError(t, os.Chmod(path, 0o640))
			require.NoError(t, manifestfile.WriteSignature(path, sig))
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, c.out, string(got))
			assert.Equal(t, sig, load(t, dir).Signature)
			st, err := os.Stat(path)
			require.NoError(t, err)
			want := os.FileMode(0o640)
			if runtime.GOOS == "windows" {
				want = 0o666 // Windows keeps only the read-only bit: writable it stays
			}
			assert.Equal(t, want, st.Mode().Perm(), "the mode is kept")
			left, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, left, 1, "no temporary file left")
		})
	}
}

func TestWriteSignatureJSON(t *testing.T) {
	_, priv := newKey(t)
	sig := sigkey.Sign(priv, []byte("lib"))
	cases := []struct{ name, in, out string }{
		{"replaced in place",
			`{"name":"x","version":"1","entry":"x.so","signature":"","capabilities":["fs.read"],"extra":{"a":[1,2]}}`,
			"{\n  \"name\": \"x\",\n  \"version\": \"1\",\n  \"entry\": \"x.so\",\n  \"signature\": \"" + sig + "\",\n  \"capabilities\": [\n    \"fs.read\"\n  ],\n  \"extra\": {\n    \"a\": [\n      1,\n      2\n    ]\n  }\n}\n"},
		{"inserted after capabilities",
			`{"name":"x","version":"1","entry":"x.so","capabilities":[],"homepage":"<&>"}`,
			"{\n  \"name\": \"x\",\n  \"version\": \"1\",\n  \"entry\": \"x.so\",\n  \"capabilities\": [],\n  \"signature\": \"" + sig + "\",\n  \"homepage\": \"<&>\"\n}\n"},
		{"inserted after the last reference field",
			`{"homepage":"h","name":"x","entry":"x.so","version":"1"}`,
			"{\n  \"homepage\": \"h\",\n  \"name\": \"x\",\n  \"entry\": \"x.so\",\n  \"version\": \"1\",\n  \"signature\": \"" + sig + "\"\n}\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeManifest(t, manifestfile.JSONName, c.in)
			path := filepath.Join(dir, manifestfile.JSONName)
			require.NoError(t, manifestfile.WriteSignature(path, sig))
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, c.out, string(got))
			assert.Equal(t, sig, load(t, dir).Signature)
		})
	}
}

func TestWriteSignatureRefuses(t *testing.T) {
	_, priv := newKey(t)
	sig := sigkey.Sign(priv, []byte("lib"))

	// An invalid manifest is not touched: the error is Load's.
	const bad = "name = \"x\"\nversion = \"1\"\nentry = \"../x.so\"\n"
	dir := writeManifest(t, manifestfile.TOMLName, bad)
	path := filepath.Join(dir, manifestfile.TOMLName)
	clawErr(t, manifestfile.WriteSignature(path, sig), clawerr.ManifestInvalid)
	got, _ := os.ReadFile(path)
	assert.Equal(t, bad, string(got))

	// Something that is not a signature is not written.
	const good = "name = \"x\"\nversion = \"1\"\nentry = \"x.so\"\n"
	dir = writeManifest(t, manifestfile.TOMLName, good)
	path = filepath.Join(dir, manifestfile.TOMLName)
	for _, s := range []string{"", "abc", "\"\nentry = \"", strings.Repeat("A", 87) + "="} {
		clawErr(t, manifestfile.WriteSignature(path, s), clawerr.SignatureInvalid)
	}
	got, _ = os.ReadFile(path)
	assert.Equal(t, good, string(got))
}

// A symlinked manifest: the file it points to is rewritten, the link stays.
func TestWriteSignatureSymlink(t *testing.T) {
	_, priv := newKey(t)
	sig := sigkey.Sign(priv, []byte("lib"))
	real := writeManifest(t, manifestfile.TOMLName, "name = \"x\"\nversion = \"1\"\nentry = \"x.so\"\n")
	dir := t.TempDir()
	link := filepath.Join(dir, manifestfile.TOMLName)
	if err := os.Symlink(filepath.Join(real, manifestfile.TOMLName), link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	require.NoError(t, manifestfile.WriteSignature(link, sig))
	st, err := os.Lstat(link)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&os.ModeSymlink)
	assert.Equal(t, sig, load(t, real).Signature)
}
