package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
)

// runIn runs `run` in this process with script as the event file.
func runIn(t *testing.T, script string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "script.jsonl")
	require.NoError(t, os.WriteFile(f, []byte(script), 0o644))
	var out, errb bytes.Buffer
	code = runVerb(append(args, "--events", f), &out, &errb)
	return out.String(), errb.String(), code
}

const oneStart = `{"event":"session_start","session":"s1"}` + "\n"

// --plugins naming a directory that is not there is a usage error (2); one
// that holds no plugin, or that is a plugin directory itself, exits 1
// without playing the script to nobody, and says which slip it was.
func TestRunPluginsDirMistakes(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	out, errs, code := runIn(t, oneStart, "--plugins", missing)
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, "", out)
	assert.Equal(t, "clawd-plugin run: --plugins "+missing+": no such directory\n", errs)

	out, _, code = runIn(t, oneStart, "--plugins", missing, "--json")
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, `{"schema":1,"ok":false,"error":{"code":"not_found","message":"--plugins `+jsonText(missing)+`: no such directory"}}`+"\n", out)

	empty := t.TempDir()
	out, errs, code = runIn(t, oneStart, "--plugins", empty)
	assert.Equal(t, exitInvalid, code)
	assert.Equal(t, "", errs)
	assert.Equal(t, "error  no plugins found in "+empty+" (each plugin is a directory DIR/NAME with a plugin.toml or clawd-plugin.json)\n", out)

	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), "")
	pdir := filepath.Join(root, "echo")
	out, _, code = runIn(t, oneStart, "--plugins", pdir)
	assert.Equal(t, exitInvalid, code)
	assert.Equal(t, "error  "+pdir+" is a plugin directory; run it alone (--plugin "+pdir+") or pass its parent (--plugins "+root+")\n", out)

	out, _, code = runIn(t, oneStart, "--plugins", pdir, "--json")
	assert.Equal(t, exitInvalid, code)
	assert.Equal(t, `{"schema":1,"type":"error","code":"plugin_dir","error":"`+jsonText(pdir)+` is a plugin directory; run it alone (--plugin `+jsonText(pdir)+`) or pass its parent (--plugins `+jsonText(root)+`)"}`+"\n", out)
}

// --json step records carry the tool and the role as fields, with no text
// formatting; every record has the schema.
func TestRunJSONStepFields(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), "")
	out, _, code := runIn(t, `{"event":"tool_call","session":"s1","tool":"grep","input":{}}
{"event":"message","session":"s1","role":"user","content":"hi"}
`, "--plugins", root, "--json")
	assert.Equal(t, exitOK, code)
	var steps []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		assert.Equal(t, float64(1), m["schema"], l)
		if m["type"] == "step" {
			steps = append(steps, l)
		}
	}
	assert.Equal(t, []string{
		`{"schema":1,"type":"step","line":1,"event":"tool_call","session":"s1","tool":"grep"}`,
		`{"schema":1,"type":"step","line":2,"event":"message","session":"s1","role":"user"}`,
	}, steps)
}

// A plugin cannot forge a line of the text output or restyle the terminal:
// what it logs (here the session id it echoes) has its control characters
// escaped; --json keeps the text as it is, escaped by JSON.
func TestRunTextEscapesPluginText(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), "")
	script := `{"event":"session_start","session":"s1\nlog    error echo 1.0.0: forged\u001b[31m\u202e"}` + "\n"
	out, _, code := runIn(t, script, "--plugins", root)
	assert.Equal(t, exitOK, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Contains(t, lines, `log    info  echo 1.0.0: session:s1\nlog    error echo 1.0.0: forged\x1b[31m\u202e`)
	assert.Contains(t, lines, `> session_start s1\nlog    error echo 1.0.0: forged\x1b[31m\u202e`)
	for _, l := range lines {
		assert.False(t, strings.HasPrefix(l, "log    error"), "a forged line: %q", l)
		assert.NotContains(t, l, "\x1b")
	}

	out, _, _ = runIn(t, script, "--plugins", root, "--json")
	assert.Contains(t, out, `"msg":"session:s1\nlog    error echo 1.0.0: forged\u001b[31m`+"\u202e"+`"`)
}

// --strict: a bad line or a failed call exits 1; without it, 0.
func TestRunStrict(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), "")
	for _, c := range []struct {
		script string
		strict int
	}{
		{oneStart, exitOK},
		{oneStart + "not json\n", exitInvalid},
		{`{"event":"tool_call","session":"s1","tool":"fail"}` + "\n", exitInvalid},
	} {
		_, _, code := runIn(t, c.script, "--plugins", root)
		assert.Equal(t, exitOK, code, c.script)
		_, _, code = runIn(t, c.script, "--plugins", root, "--strict")
		assert.Equal(t, c.strict, code, c.script)
	}
}

// Durations for people, plurals right.
func TestHumanText(t *testing.T) {
	us := func(n int64) *int64 { return &n }
	ok := true
	for _, c := range []struct {
		micros int64
		want   string
	}{{88, "88µs"}, {1234, "1.2ms"}, {1200000, "1.2s"}, {2000000, "2s"}, {125000000, "2m5s"}} {
		assert.Equal(t, "  p 1: ok ("+c.want+")", human(record{Type: "outcome", Plugin: "p", Version: "1", OK: &ok, Micros: us(c.micros)}))
	}
	assert.Equal(t, "summary: 1 event (0 bad lines), 1 plugin (0 failed), 1 calls ok, 0 failed, 0 events sent",
		human(record{Type: "summary", Summary: &summary{Events: 1, Plugins: 1, CallsOK: 1}}))
	assert.Equal(t, "summary: 2 events (1 bad line), 0 plugins (0 failed), 0 calls ok, 0 failed, 1 event sent",
		human(record{Type: "summary", Summary: &summary{Events: 2, BadLines: 1, EventsSent: 1}}))
}

// check --only / --skip that select no check is a usage error, and check
// --json prints a JSON object with a code on every failure.
func TestCheckSelectionAndJSONFailures(t *testing.T) {
	lib := cbuild.Plugin(t, "echo")
	r := cli(t, "check", "--only", "zzz", lib)
	assert.Equal(t, exitUsage, r.exit)
	assert.Equal(t, "", r.stdout)
	assert.True(t, strings.HasPrefix(r.stderr, "clawd-plugin check: --only zzz select no check (the ids: clawd-plugin check --list)\n"), r.stderr)

	r = cli(t, "check", "--skip", ".", "--json", lib)
	assert.Equal(t, exitUsage, r.exit)
	assert.Equal(t, `{"schema":1,"ok":false,"error":{"code":"usage","message":"--skip . select no check (the ids: clawd-plugin check --list)"}}`+"\n", r.stdout)

	missing := filepath.Join(t.TempDir(), "libnope.so")
	r = cli(t, "check", "--json", missing)
	assert.Equal(t, exitInvalid, r.exit)
	_, statErr := os.Stat(missing) // the system's words: they differ on Windows
	assert.Equal(t, `{"schema":1,"ok":false,"error":{"code":"not_found","message":"conformance: `+jsonText(statErr.Error())+`"}}`+"\n", r.stdout)

	r = cli(t, "inspect", "--json")
	assert.Equal(t, exitUsage, r.exit)
	assert.Equal(t, `{"schema":1,"ok":false,"error":{"code":"usage","message":"missing LIB"}}`+"\n", r.stdout)

	r = cli(t, "run", "--json", "--bogus")
	assert.Equal(t, exitUsage, r.exit)
	assert.Equal(t, `{"schema":1,"ok":false,"error":{"code":"usage","message":"unknown flag --bogus (`+jsonText(bin)+` run --help lists the flags)"}}`+"\n", r.stdout)

	r = cli(t, "check", "--json", "--only", "export.init", lib)
	assert.Equal(t, exitOK, r.exit, r.stderr)
	var rep struct {
		Schema int            `json:"schema"`
		OK     bool           `json:"ok"`
		Counts map[string]int `json:"counts"`
		Checks []struct {
			ID         string  `json:"id"`
			DurationMS float64 `json:"duration_ms"`
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	assert.Equal(t, 1, rep.Schema)
	assert.Equal(t, map[string]int{"total": 1, "pass": 1, "fail": 0, "warn": 0, "skip": 0}, rep.Counts)
	require.Len(t, rep.Checks, 1)
	assert.Positive(t, rep.Checks[0].DurationMS)
}

// inspect says whether a signature is present, not whether it is valid:
// "signature_present", never "signed" (host.PluginInfo.Signed means
// verified).
func TestInspectSignaturePresent(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), "")
	dir := filepath.Join(root, "echo")
	f, err := os.OpenFile(filepath.Join(dir, "plugin.toml"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("signature = \"not base64!\"\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	obj, r := inspectJSON(t, exitOK, dir)
	m := obj["manifest"].(map[string]any)
	assert.Equal(t, true, m["signature_present"])
	_, has := m["signed"]
	assert.False(t, has, r.stdout)
	r = cli(t, "inspect", dir)
	assert.Contains(t, r.stdout, "signature: present (check it with "+bin+" verify)\n")
}

var flagName = regexp.MustCompile(`(?m)^  (-\S+)`)

// Every verb's --help exits 0 with a synopsis, its flags and an example,
// on stdout; the top-level usage lists every verb; completion knows every
// flag each verb has.
func TestHelpOfEveryVerb(t *testing.T) {
	top := cli(t, "--help")
	assert.Equal(t, exitOK, top.exit)
	for _, h := range helps {
		assert.Contains(t, top.stdout, "\n  "+h.name+" ", h.name)
		for _, form := range [][]string{{h.name, "--help"}, {h.name, "-h"}, {"help", h.name}} {
			r := cli(t, form...)
			assert.Equal(t, exitOK, r.exit, "%v: %s", form, r.stderr)
			assert.True(t, strings.HasPrefix(r.stdout, "usage: clawd-plugin "+h.name), "%v: %s", form, r.stdout)
			assert.Contains(t, r.stdout, "\nexample:\n  "+h.example+"\n", form)
			assert.Contains(t, h.example, "clawd-plugin "+h.name, "the example uses the verb")
		}
		r := cli(t, h.name, "--help")
		var got []string
		for _, m := range flagName.FindAllStringSubmatch(r.stdout, -1) {
			if f := m[1]; f != "-v" {
				got = append(got, "-"+f)
			} else {
				got = append(got, f)
			}
		}
		want := slices.Clone(verbFlags[h.name])
		slices.Sort(want)
		slices.Sort(got)
		if len(want) == 0 {
			want = nil
		}
		assert.Equal(t, want, got, "the flags completion offers for %s", h.name)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := cli(t, "completion", sh)
		assert.Equal(t, exitOK, r.exit, sh)
		assert.Regexp(t, `(--| -l )strict`, r.stdout, sh)
	}
	r := cli(t, "completion", "tcsh")
	assert.Equal(t, exitUsage, r.exit)
	assert.Equal(t, "clawd-plugin completion: unknown shell \"tcsh\" (want bash, zsh or fish)\n", r.stderr)
}

// --version and version print the module version and the build's VCS
// revision when there is one.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		r := cli(t, args...)
		assert.Equal(t, exitOK, r.exit)
		assert.Regexp(t, `^clawd-plugin \S+ \(github.com/clawd-go/clawd\)\n`, r.stdout)
	}
	r := cli(t, "version", "--json")
	assert.Equal(t, exitOK, r.exit)
	var b buildInfo
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &b))
	assert.Equal(t, 1, b.Schema)
	assert.Equal(t, "github.com/clawd-go/clawd", b.Module)
	assert.NotEmpty(t, b.Version)
	assert.Equal(t, uint32(1), b.ABIVersion)
}

// jsonText is s as it appears inside a JSON string (a Windows path's
// backslashes doubled).
func jsonText(s string) string {
	js, _ := json.Marshal(s)
	return string(js[1 : len(js)-1])
}
