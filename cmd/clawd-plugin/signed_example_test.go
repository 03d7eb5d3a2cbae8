package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
)

// The example C plugin, signed with keygen and sign, verifies and runs
// under --trust require; the same plugin with one byte of its library
// flipped is refused with signature_invalid and the command fails.
func TestSignedExamplePluginEndToEnd(t *testing.T) {
	root, err := cbuild.RepoRoot()
	require.NoError(t, err)
	plugins := t.TempDir()
	dir := filepath.Join(plugins, "hello")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	lib, err := os.ReadFile(cbuild.Library(t, filepath.Join(root, "examples/c/hello/hello.c")))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "libhello.so"), lib, 0o755))
	man, err := os.ReadFile(filepath.Join(root, "examples/c/hello/clawd-plugin.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "clawd-plugin.json"), man, 0o644))

	priv, pub := keygenIn(t, t.TempDir(), "release")
	r := cli(t, "sign", "--key", priv, dir)
	require.Equal(t, 0, r.exit, r.stderr)
	r = cli(t, "verify", "--pub", pub, dir)
	require.Equal(t, 0, r.exit, r.stderr)

	script := filepath.Join(root, "examples/scripts/session.jsonl")
	r = cli(t, "run", "--plugins", plugins, "--events", script, "--trust", "require", "--pub", pub)
	require.Equal(t, 0, r.exit, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "plugin hello 1.0.0: active")
	assert.Contains(t, r.stdout, `event  hello 1.0.0: hello.tool_called {"tool":"grep"}`)
	assert.Contains(t, r.stdout, "summary: 5 events (0 bad lines), 1 plugin (0 failed), 5 calls ok, 0 failed, 1 event sent")

	lib[len(lib)/2] ^= 0xFF
	require.NoError(t, os.WriteFile(filepath.Join(dir, "libhello.so"), lib, 0o755))
	r = cli(t, "verify", "--pub", pub, dir)
	assert.Equal(t, 1, r.exit)
	assert.Contains(t, r.stdout+r.stderr, "signature_invalid")
	r = cli(t, "run", "--plugins", plugins, "--events", script, "--trust", "require", "--pub", pub)
	assert.Equal(t, 1, r.exit)
	var failed string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "plugin hello") {
			failed = l
		}
	}
	assert.Contains(t, failed, "failed")
	assert.Contains(t, failed, "signature_invalid")
	assert.Contains(t, r.stdout, "0 calls ok")
}
