package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
)

// pluginDir writes DIR/name/ with the library and a plugin.toml.
func pluginDir(t *testing.T, root, name, lib string, caps string) {
	t.Helper()
	dir := filepath.Join(root, name)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	b, err := os.ReadFile(lib)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib"+name+".so"), b, 0o755))
	toml := "name = \"" + name + "\"\nversion = \"1.0.0\"\nentry = \"lib" + name + ".so\"\ncapabilities = [" + caps + "]\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(toml), 0o644))
}

const script = `{"event":"session_start","session":"s1"}
{"event":"tool_call","session":"s1","tool":"grep","input":{"q":"x"}}
{"event":"tool_call","session":"s1","tool":"fail"}
{"event":"message","session":"s1","role":"user","content":"hi"}
{"event":"bogus","session":"s1"}
{"event":"session_end","session":"s1"}
`

func runScript(t *testing.T, args ...string) (string, int) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "script.jsonl")
	require.NoError(t, os.WriteFile(f, []byte(script), 0o644))
	var out, errb bytes.Buffer
	code := runVerb(append(args, "--events", f), &out, &errb)
	require.Empty(t, errb.String())
	return out.String(), code
}

func TestRunPlaysTheScript(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), `"network.relay"`)
	out, code := runScript(t, "--plugins", root)
	assert.Equal(t, exitOK, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Contains(t, lines, "plugin echo 1.0.0: active")
	assert.Contains(t, lines, "> tool_call s1 grep")
	assert.Contains(t, lines, "log    info  echo 1.0.0: input:{\"q\":\"x\"}")
	assert.Contains(t, lines, "log    info  echo 1.0.0: content:\"hi\"")
	assert.Contains(t, lines, `error  script line 5: unknown event "bogus" (want session_start, tool_call, message or session_end)`)
	var failLine string
	for _, l := range lines {
		if strings.HasPrefix(l, "  echo 1.0.0: callback_error") {
			failLine = l
		}
	}
	assert.NotEmpty(t, failLine, "the failing tool call's outcome is shown")
	assert.Equal(t, "summary: 5 events (1 bad line), 1 plugin (0 failed), 4 calls ok, 1 failed, 7 events sent", lines[len(lines)-1]) // on_unload's included
}

func TestRunJSONAndAFailedPlugin(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), "")
	pluginDir(t, root, "broken", cbuild.Plugin(t, "bad_abi"), "")
	out, code := runScript(t, "--plugins", root, "--json")
	assert.Equal(t, exitInvalid, code, "a plugin failed to load")
	var recs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		recs = append(recs, m)
	}
	var broken, summary map[string]any
	outcomes := 0
	for _, r := range recs {
		switch {
		case r["type"] == "plugin" && r["plugin"] == "broken":
			broken = r
		case r["type"] == "summary":
			summary = r["summary"].(map[string]any)
		case r["type"] == "outcome":
			outcomes++
			assert.Equal(t, "echo", r["plugin"], "only the good plugin is called")
		}
	}
	require.NotNil(t, broken)
	assert.Equal(t, "failed", broken["state"])
	assert.Equal(t, "abi_mismatch", broken["code"])
	assert.Equal(t, 5, outcomes)
	assert.Equal(t, float64(1), summary["failed_plugins"])
	assert.Equal(t, float64(0), summary["events_sent"], "echo has no network.relay: every send is refused")
}

// The same script in the process sandbox: the same lines, and each plugin
// says what the operating system enforces on its child.
func TestRunInTheProcessSandbox(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), `"network.relay"`)
	pluginDir(t, root, "hostile", cbuild.Plugin(t, "hostile"), "")
	f := filepath.Join(t.TempDir(), "script.jsonl")
	require.NoError(t, os.WriteFile(f, []byte(`{"event":"tool_call","session":"s1","tool":"ok","input":{}}
{"event":"tool_call","session":"s1","tool":"segv","input":{}}
{"event":"tool_call","session":"s1","tool":"grep","input":{"q":"x"}}
`), 0o644))
	var out, errb bytes.Buffer
	code := runVerb([]string{"--plugins", root, "--sandbox", "process", "--events", f}, &out, &errb)
	require.Empty(t, errb.String())
	assert.Equal(t, exitOK, code)
	text := out.String()
	assert.Contains(t, text, "plugin echo 1.0.0: active (sandbox process: ")
	assert.Contains(t, text, "log    info  echo 1.0.0: input:{\"q\":\"x\"}")
	assert.Regexp(t, `hostile 1.0.0: crashed \([^)]*\): .*`+regexp.QuoteMeta(segvName), text)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	assert.Regexp(t, `^summary: 3 events \(0 bad lines\), 2 plugins \(0 failed\), [45] calls ok, [12] failed, 5 events sent$`, lines[len(lines)-1])
}

func TestRunUsage(t *testing.T) {
	var out, errb bytes.Buffer
	assert.Equal(t, exitUsage, runVerb([]string{"--trust", "maybe"}, &out, &errb))
	assert.Equal(t, exitUsage, runVerb([]string{"extra"}, &out, &errb))
}
