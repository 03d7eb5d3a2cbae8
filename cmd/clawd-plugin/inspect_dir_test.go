package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
)

// inspect DIR reads the manifest, inspects its entry and shows both; a
// manifest that disagrees with the library is a warning, a bad manifest
// is its own error code.
func TestInspectPluginDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "echo")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	lib, err := os.ReadFile(cbuild.Plugin(t, "echo"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "libecho.so"), lib, 0o755))
	toml := "name = \"echo-plugin\"\nversion = \"1.0.0\"\nentry = \"libecho.so\"\ncapabilities = [\"network.relay\"]\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(toml), 0o644))

	r := cli(t, "inspect", "--json", dir)
	require.Equal(t, 0, r.exit, r.stderr)
	var rep struct {
		OK       bool     `json:"ok"`
		Name     string   `json:"name"`
		Warnings []string `json:"warnings"`
		Manifest struct {
			Name         string   `json:"name"`
			Entry        string   `json:"entry"`
			Capabilities []string `json:"capabilities"`
			Signed       bool     `json:"signature_present"`
		} `json:"manifest"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	assert.True(t, rep.OK)
	assert.Equal(t, "echo", rep.Name)
	assert.Equal(t, "echo-plugin", rep.Manifest.Name)
	assert.Equal(t, "libecho.so", rep.Manifest.Entry)
	assert.Equal(t, []string{"network.relay"}, rep.Manifest.Capabilities)
	assert.False(t, rep.Manifest.Signed)
	assert.Equal(t, []string{`the manifest names the plugin "echo-plugin", the library "echo"`}, rep.Warnings)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(toml+"capabilities2 = 1\n"), 0o644))
	r = cli(t, "inspect", "--json", dir)
	assert.Equal(t, 1, r.exit)
	assert.Contains(t, r.stdout, `"code":"manifest_invalid"`)
	assert.Contains(t, r.stdout, "capabilities2")
}
