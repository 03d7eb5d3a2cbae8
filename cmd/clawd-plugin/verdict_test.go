package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
)

const guardScript = `{"event":"message","session":"s","role":"user","content":"key sk-live0123456789abcdefXYZ here"}
{"event":"tool_call","session":"s","tool":"shell","input":{"command":"rm -fr /"}}
{"event":"tool_call","session":"s","tool":"shell","input":{"command":"rm -r build"}}
`

// guardRoot holds the guard example (hooks granted by its manifest) and
// the echo test plugin as "watch", which sorts after it and so sees its verdicts.
func guardRoot(t *testing.T) string {
	root := t.TempDir()
	dir := filepath.Join(root, "guard")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	b, err := os.ReadFile(cbuild.Library(t, "examples/c/guard/guard.c", "-Iinclude"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "libguard.so"), b, 0o755))
	m, err := os.ReadFile("../../examples/c/guard/clawd-plugin.json")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "clawd-plugin.json"), m, 0o644))
	pluginDir(t, root, "watch", cbuild.Plugin(t, "echo"), "")
	return root
}

func runGuard(t *testing.T, args ...string) []string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "script.jsonl")
	require.NoError(t, os.WriteFile(f, []byte(guardScript), 0o644))
	var out, errb bytes.Buffer
	code := runVerb(append(args, "--plugins", guardRoot(t), "--events", f), &out, &errb)
	require.Equal(t, exitOK, code, errb.String())
	return strings.Split(strings.TrimSpace(out.String()), "\n")
}

func TestRunPrintsVerdicts(t *testing.T) {
	lines := runGuard(t)
	assert.Contains(t, lines, `  verdict: rewritten by guard: "key [REDACTED] here"`)
	assert.Contains(t, lines, `log    info  watch 1.0.0: content:"key [REDACTED] here" library=echo`, "the next plugin sees the rewritten content")
	assert.Contains(t, lines, "  watch 1.0.0: skipped (blocked by guard)")
	assert.Contains(t, lines, "  verdict: blocked by guard: guard: a recursive forced delete (rm -rf) is not allowed")
	assert.Equal(t, 1, strings.Count(strings.Join(lines, "\n"), "  verdict: continue"), "rm -r without -f continues")
}

func TestRunJSONVerdicts(t *testing.T) {
	var got []map[string]any
	for _, l := range runGuard(t, "--json") {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &r), l)
		if r["type"] == "verdict" || r["skipped"] == true {
			delete(r, "session")
			got = append(got, r)
		}
	}
	assert.Equal(t, []map[string]any{
		{"schema": 1.0, "type": "verdict", "line": 1.0, "event": "message", "verdict": "intercept", "by": "guard", "content": "key [REDACTED] here"},
		{"schema": 1.0, "type": "outcome", "plugin": "watch", "version": "1.0.0", "line": 2.0, "event": "tool_call", "skipped": true, "by": "guard"},
		{"schema": 1.0, "type": "verdict", "line": 2.0, "event": "tool_call", "verdict": "block", "by": "guard", "reason": "guard: a recursive forced delete (rm -rf) is not allowed"},
		{"schema": 1.0, "type": "verdict", "line": 3.0, "event": "tool_call", "verdict": "continue"},
	}, got)
}
