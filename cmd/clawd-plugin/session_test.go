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

// A newcomer's first session with the built command, as the README tells
// it: the version, every verb's help, the example plugin run through the
// example script, then the usual slips, each answered with its exit status
// and a line that says what is wrong.
func TestNewcomerSession(t *testing.T) {
	r := cli(t, "--version")
	assert.Equal(t, exitOK, r.exit)
	assert.True(t, strings.HasPrefix(r.stdout, "clawd-plugin "), r.stdout)
	r = cli(t)
	assert.Equal(t, exitUsage, r.exit)
	assert.Contains(t, r.stderr, "usage: clawd-plugin <verb> [flags] [args]")
	for _, h := range helps {
		r := cli(t, h.name, "--help")
		assert.Equal(t, exitOK, r.exit, h.name)
		assert.True(t, strings.HasPrefix(r.stdout, "usage: clawd-plugin "+h.name), h.name)
		assert.Equal(t, "", r.stderr, h.name)
	}

	// The example plugin in a plugin directory of its own, under plugins/.
	work := t.TempDir()
	hello := filepath.Join(work, "plugins", "hello")
	require.NoError(t, os.MkdirAll(hello, 0o755))
	cbuild.Build(t, filepath.Join("..", "..", "examples", "c", "hello", "hello.c"), filepath.Join(hello, "libhello"+cbuild.LibExt))
	man, err := os.ReadFile(filepath.Join("..", "..", "examples", "c", "hello", "clawd-plugin.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(hello, "clawd-plugin.json"), []byte(strings.ReplaceAll(string(man), "libhello.so", "libhello"+cbuild.LibExt)), 0o644))
	script, err := filepath.Abs(filepath.Join("..", "..", "examples", "scripts", "session.jsonl"))
	require.NoError(t, err)
	plugins := filepath.Join(work, "plugins")

	r = cli(t, "inspect", hello)
	assert.Equal(t, exitOK, r.exit, r.stderr)
	assert.Contains(t, r.stdout, "plugin:    hello 1.0.0\n")
	r = cli(t, "check", "--only", `^export\.`, hello)
	assert.Equal(t, exitOK, r.exit, r.stdout)
	assert.Contains(t, r.stdout, "\nok: 2 checks, 2 pass, 0 fail, 0 warn, 0 skip\n")

	r = cli(t, "run", "--plugins", plugins, "--events", script)
	assert.Equal(t, exitOK, r.exit, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	assert.Contains(t, lines, "event  hello 1.0.0: hello.tool_called {\"tool\":\"grep\"}")
	assert.Equal(t, "summary: 5 events (0 bad lines), 1 plugin (0 failed), 5 calls ok, 0 failed, 1 event sent", lines[len(lines)-1])

	// The slips.
	r = cli(t, "run", "--plugins", filepath.Join(work, "plugin"), "--events", script)
	assert.Equal(t, exitUsage, r.exit)
	assert.Equal(t, "clawd-plugin run: --plugins "+filepath.Join(work, "plugin")+": no such directory\n", r.stderr)
	r = cli(t, "run", "--plugins", hello, "--events", script)
	assert.Equal(t, exitInvalid, r.exit)
	assert.Equal(t, "error  "+hello+" is a plugin directory; run it alone (--plugin "+hello+") or pass its parent (--plugins "+plugins+")\n", r.stdout)
	r = cli(t, "run", "--plugins", work, "--events", script)
	assert.Equal(t, exitInvalid, r.exit)
	assert.True(t, strings.HasPrefix(r.stdout, "error  no plugins found in "+work+" "), r.stdout)

	bad := filepath.Join(work, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte("{\"event\":\"nope\"}\n[]\n{\"event\":\"session_start\",\"session\":\"s1\"}\n"), 0o644))
	r = cli(t, "run", "--plugins", plugins, "--events", bad)
	assert.Equal(t, exitOK, r.exit)
	assert.Contains(t, r.stdout, "error  script line 1: unknown event \"nope\" (want session_start, tool_call, message or session_end)\n")
	assert.Contains(t, r.stdout, "error  script line 2: not an event object: a JSON object is expected, not an array\n")
	assert.Contains(t, r.stdout, "summary: 1 event (2 bad lines), 1 plugin (0 failed), 1 calls ok, 0 failed, 0 events sent\n")
	r = cli(t, "run", "--strict", "--plugins", plugins, "--events", bad)
	assert.Equal(t, exitInvalid, r.exit)

	r = cli(t, "check", "--skip", ".", hello)
	assert.Equal(t, exitUsage, r.exit)
	assert.True(t, strings.HasPrefix(r.stderr, "clawd-plugin check: --skip . select no check"), r.stderr)
	r = cli(t, "inspect", "--json", filepath.Join(work, "libnope.so"))
	assert.Equal(t, exitInvalid, r.exit)
	assert.True(t, strings.HasPrefix(r.stdout, `{"schema":1,"ok":false,"error":{"code":"open_failed","message":`), r.stdout)
	r = cli(t, "frobnicate")
	assert.Equal(t, exitUsage, r.exit)
	assert.Equal(t, "clawd-plugin: unknown verb \"frobnicate\" ("+bin+" --help lists the verbs)\n", r.stderr)
}
