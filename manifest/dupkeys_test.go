package manifest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/manifest"
)

// A key given twice in one JSON object is manifest_invalid at any depth:
// json.Unmarshal keeps the last silently, another reader may keep the
// first, and the manifest a signer reviewed is then not the one that
// loads. The error names the key's path and both positions, line:column.
func TestJSONDuplicateKeysAreRefused(t *testing.T) {
	for _, c := range []struct {
		name, src, says string
	}{
		{"capabilities twice", "{\n  \"name\": \"x\",\n  \"version\": \"1\",\n  \"entry\": \"x.so\",\n  \"capabilities\": [\"fs.read\"],\n  \"capabilities\": [\"fs.read\", \"network.relay\"]\n}",
			manifestfile.JSONName + ":6:3: capabilities: key repeated (first at 5:3)"},
		{"escaped spelling", `{"name":"x","version":"1","entry":"x.so","n\u0061me":"y"}`,
			manifestfile.JSONName + ":1:42: name: key repeated (first at 1:2)"},
		{"nested in entry", "{\"name\":\"x\",\"version\":\"1\",\n\"entry\":{\"linux\":\"a.so\",\n  \"darwin\":\"a.dylib\", \"linux\":\"b.so\"}}",
			manifestfile.JSONName + ":3:23: entry.linux: key repeated (first at 2:10)"},
		{"deep in an unknown field", `{"name":"x","version":"1","entry":"x.so","extra":[{"a":{"b":1,"b":2}}]}`,
			manifestfile.JSONName + ":1:63: extra[0].a.b: key repeated (first at 1:57)"},
		{"after a multi-byte character", "{\"name\":\"é\", \"name\":\"x\",\"version\":\"1\",\"entry\":\"x.so\"}",
			manifestfile.JSONName + ":1:14: name: key repeated (first at 1:2)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeManifest(t, manifestfile.JSONName, c.src)
			_, err := manifest.LoadDir(dir)
			ce := clawErr(t, err, clawerr.ManifestInvalid)
			assert.Contains(t, ce.Detail, c.says)
		})
	}
}

// The same key in different objects, and keys that differ only in case,
// are not repeats.
func TestJSONSameKeyInOtherObjectsLoads(t *testing.T) {
	dir := writeManifest(t, manifestfile.JSONName,
		`{"name":"x","version":"1","entry":{"linux":"a.so","darwin":"a.dylib","windows":"a.dll"},"extra":[{"linux":1},{"linux":2}],"Name":"y"}`)
	m, err := manifest.LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, "x", m.Name)
}

// TOML refuses a repeated key by its specification: the same code.
func TestTOMLDuplicateKeysAreRefused(t *testing.T) {
	for _, src := range []string{
		"name = \"x\"\nversion = \"1\"\nentry = \"x.so\"\ncapabilities = [\"fs.read\"]\ncapabilities = [\"network.relay\"]\n",
		"name = \"x\"\nversion = \"1\"\n[entry]\nlinux = \"a.so\"\nlinux = \"b.so\"\n",
	} {
		dir := writeManifest(t, manifestfile.TOMLName, src)
		_, err := manifest.LoadDir(dir)
		ce := clawErr(t, err, clawerr.ManifestInvalid)
		assert.Contains(t, ce.Detail, manifestfile.TOMLName+":5: invalid TOML")
	}
}
