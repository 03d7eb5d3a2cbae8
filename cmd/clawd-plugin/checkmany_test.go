package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
)

// check takes several plugins, or a directory of plugin directories: each
// is checked, one failing never stops the others, and the exit status is
// the worst's.
func TestCheckSeveral(t *testing.T) {
	good := cbuild.Plugin(t, "minimal")
	bad := cbuild.Plugin(t, "bad_abi")
	only := []string{"--only", `^init\.`}

	r := cli(t, append([]string{"check", "--json"}, append(only, good, bad)...)...)
	require.Equal(t, exitInvalid, r.exit, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	var rep struct {
		Schema  int  `json:"schema"`
		OK      bool `json:"ok"`
		Plugins []struct {
			Target string `json:"target"`
			OK     bool   `json:"ok"`
			Checks []struct{ ID, Status string }
		} `json:"plugins"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	assert.Equal(t, 1, rep.Schema)
	assert.False(t, rep.OK)
	require.Len(t, rep.Plugins, 2)
	assert.Equal(t, good, rep.Plugins[0].Target)
	assert.True(t, rep.Plugins[0].OK)
	assert.Equal(t, bad, rep.Plugins[1].Target)
	assert.False(t, rep.Plugins[1].OK)

	// A directory of plugin directories: each one, in name order.
	root := t.TempDir()
	for _, name := range []string{"b", "a"} {
		dir := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		data, err := os.ReadFile(good)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "lib"+name+".so"), data, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "plugin.toml"),
			[]byte("name = \"minimal\"\nversion = \"1.0.0\"\nentry = \"lib"+name+".so\"\n"), 0o644))
	}
	r = cli(t, append([]string{"check"}, append(only, root)...)...)
	require.Equal(t, exitOK, r.exit, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	a, b := strings.Index(r.stdout, "checking "+filepath.Join(root, "a")), strings.Index(r.stdout, "checking "+filepath.Join(root, "b"))
	assert.True(t, a >= 0 && b > a, "both checked, in name order: %s", r.stdout)
	assert.Contains(t, r.stdout, "ok: 2 plugins checked, 0 failed")
}
