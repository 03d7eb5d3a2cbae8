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

// jsonRecords decodes run --json output, one object per line.
func jsonRecords(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		recs = append(recs, m)
	}
	return recs
}

// The summary is read after the plugins are closed: an event a plugin
// sends from on_unload is printed and counted like any other.
func TestRunSummaryCountsWhatOnUnloadSent(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), `"network.relay"`)
	out, _, code := runIn(t, oneStart, "--plugins", root, "--json")
	require.Equal(t, exitOK, code, out)
	recs := jsonRecords(t, out)
	printed, unload := 0, false
	for _, r := range recs {
		if r["type"] == "event" {
			printed++
			unload = unload || strings.Contains(string(mustJSON(t, r["params"])), "on_unload")
		}
	}
	assert.True(t, unload, "echo sends an event from on_unload:\n%s", out)
	last := recs[len(recs)-1]
	require.Equal(t, "summary", last["type"])
	assert.Equal(t, float64(printed), last["summary"].(map[string]any)["events_sent"], "every event printed is counted")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// run --plugin DIR runs one plugin directory as its manifest says: in
// process, in the process sandbox, or in the wasm runtime; nothing else is
// loaded (no ./plugins needed).
func TestRunOnePluginDirectory(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), `"network.relay"`)
	pluginDir(t, root, "boxed", cbuild.Plugin(t, "echo"), "")
	f, err := os.OpenFile(filepath.Join(root, "boxed", "plugin.toml"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("sandbox = \"process\"\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	wasmPluginDir(t, root, "wecho", cbuild.WasmPlugin(t, "echo", `-DECHO_NAME="wecho"`), "")

	for _, tc := range []struct{ name, sandbox string }{{"echo", "native"}, {"boxed", "process: "}, {"wecho", "wasm"}} {
		out, _, code := runIn(t, oneStart, "--plugin", filepath.Join(root, tc.name), "--json")
		require.Equal(t, exitOK, code, out)
		var plugins []map[string]any
		for _, r := range jsonRecords(t, out) {
			if r["type"] == "plugin" {
				plugins = append(plugins, r)
			}
		}
		require.Len(t, plugins, 1, "only the plugin named is loaded:\n%s", out)
		assert.Equal(t, tc.name, plugins[0]["plugin"])
		assert.Equal(t, "active", plugins[0]["state"])
		assert.True(t, strings.HasPrefix(plugins[0]["sandbox"].(string), tc.sandbox), "%s: sandbox %v", tc.name, plugins[0]["sandbox"])
	}

	// A directory of plugin directories is --plugins; the message says so.
	out, errs, code := runIn(t, oneStart, "--plugin", root)
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, "", out)
	assert.Equal(t, "clawd-plugin run: --plugin "+root+": not a plugin directory (no plugin.toml or clawd-plugin.json); a directory of plugin directories is --plugins "+root+"\n", errs)
	out, errs, code = runIn(t, oneStart, "--plugin", filepath.Join(root, "nope"), "--json")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, "no such file or directory")
	assert.Contains(t, out, `"code":"not_found"`)
}

// From inside a plugin directory, --plugins . names the parent as "..",
// and --plugin . runs it.
func TestRunFromInsideAPluginDirectory(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), "")
	t.Chdir(filepath.Join(root, "echo"))
	out, _, code := runIn(t, oneStart, "--plugins", ".")
	assert.Equal(t, exitInvalid, code)
	assert.Equal(t, "error  . is a plugin directory; run it alone (--plugin .) or pass its parent (--plugins ..)\n", out)
	out, _, code = runIn(t, oneStart, "--plugin", ".")
	assert.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "plugin echo 1.0.0: active\n")
}

// A mistyped verb or flag gets one line on stderr (exit 2, nothing on
// stdout): what is wrong, the nearest verb or flag, and where the list is;
// never the whole usage page.
func TestMistypedVerbsAndFlags(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"insepct", "x.so"}, "clawd-plugin: unknown verb \"insepct\"; did you mean inspect? (clawd-plugin --help lists the verbs)\n"},
		{[]string{"instal"}, "clawd-plugin: unknown verb \"instal\"; did you mean install? (clawd-plugin --help lists the verbs)\n"},
		{[]string{"chek"}, "clawd-plugin: unknown verb \"chek\"; did you mean check? (clawd-plugin --help lists the verbs)\n"},
		{[]string{"xyzzy"}, "clawd-plugin: unknown verb \"xyzzy\" (clawd-plugin --help lists the verbs)\n"},
		{[]string{"help", "rnu"}, "clawd-plugin help: unknown verb \"rnu\"; did you mean run? (clawd-plugin --help lists the verbs)\n"},
		{[]string{"run", "--jsno"}, "clawd-plugin run: unknown flag --jsno; did you mean --json? (clawd-plugin run --help lists the flags)\n"},
		{[]string{"run", "--plugns", "x"}, "clawd-plugin run: unknown flag --plugns; did you mean --plugins? (clawd-plugin run --help lists the flags)\n"},
		{[]string{"check", "x.so", "--skp", "y"}, "clawd-plugin check: unknown flag --skp; did you mean --skip? (clawd-plugin check --help lists the flags)\n"},
		{[]string{"inspect", "--frobnicate", "x.so"}, "clawd-plugin inspect: unknown flag --frobnicate (clawd-plugin inspect --help lists the flags)\n"},
		{[]string{"inspect", "--timeout", "soon", "x.so"}, "clawd-plugin inspect: invalid value \"soon\" for flag --timeout: parse error (clawd-plugin inspect --help lists the flags)\n"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		assert.Equal(t, exitUsage, code, "%q", tc.args)
		assert.Equal(t, "", out.String(), "%q", tc.args)
		assert.Equal(t, tc.stderr, errb.String(), "%q", tc.args)
	}
}

func TestSuggest(t *testing.T) {
	verbs := verbNames()
	for typed, want := range map[string]string{
		"inspcet": "inspect", "upate": "update", "lsit": "list", "serach": "search",
		"remvoe": "remove", "verfy": "verify", "rollbak": "rollback", "vers": "version",
		"in": "", "": "", "zzzzzzz": "", "i": "",
	} {
		assert.Equal(t, want, suggest(typed, verbs), typed)
	}
	assert.Equal(t, 1, editDistance("ab", "ba"))
	assert.Equal(t, 3, editDistance("", "abc"))
	assert.Equal(t, 65, editDistance(strings.Repeat("a", 65), "a"), "long input costs no table")
}

// In run's output the host's lines about a plugin are the host's: source
// "host" in --json and "host: NAME" in text, while a plugin's own lines
// are source "plugin", in every runtime.
func TestRunTellsHostLinesFromPluginLines(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), "")
	pluginDir(t, root, "boxed", cbuild.Plugin(t, "echo"), "")
	f, err := os.OpenFile(filepath.Join(root, "boxed", "plugin.toml"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("sandbox = \"process\"\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	wasmPluginDir(t, root, "wecho", cbuild.WasmPlugin(t, "echo", `-DECHO_NAME="wecho"`), "")

	out, _, code := runIn(t, oneStart, "--plugins", root, "--json")
	require.Equal(t, exitOK, code, out)
	seen := map[string]string{}
	for _, r := range jsonRecords(t, out) {
		if r["type"] != "log" {
			continue
		}
		name, _ := r["plugin"].(string)
		switch r["msg"] {
		case "plugin active", "on_load":
			seen[name+" "+r["msg"].(string)] = r["source"].(string)
		}
	}
	for _, name := range []string{"echo", "boxed", "wecho"} {
		assert.Equal(t, "host", seen[name+" plugin active"], "%s: the host's line", name)
		assert.Equal(t, "plugin", seen[name+" on_load"], "%s: the plugin's own line", name)
	}

	out, _, code = runIn(t, oneStart, "--plugins", root)
	require.Equal(t, exitOK, code, out)
	assert.Regexp(t, `(?m)^log    info  host: echo 1\.0\.0: plugin active `, out)
	assert.Regexp(t, `(?m)^log    info  echo 1\.0\.0: on_load$`, out)
}

// A failed call's line says its code once and no "clawd:", and a crash
// report's stderr lines are lines of their own, indented under it (no
// literal \n), none of them able to pass for a line of run's.
func TestRunErrorLinesSayItOnce(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), "")
	pluginDir(t, root, "hostile", cbuild.Plugin(t, "hostile"), "")
	out, _, code := runIn(t, `{"event":"tool_call","session":"s1","tool":"fail","input":{}}
{"event":"tool_call","session":"s1","tool":"segv","input":{}}
`, "--plugins", root, "--sandbox", "process")
	require.Equal(t, exitOK, code, out)
	assert.Regexp(t, `(?m)^  echo 1\.0\.0: callback_error \([^)]*\): on_tool_call: the callback returned CallbackError$`, out)
	lines := strings.Split(out, "\n")
	crash := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "  hostile 1.0.0: crashed (") {
			crash = i
		}
	}
	require.GreaterOrEqual(t, crash, 0, out)
	assert.NotContains(t, lines[crash], `\n`)
	assert.NotContains(t, lines[crash], "clawd:")
	assert.NotContains(t, lines[crash], ": crashed:", "the code once")
	assert.True(t, strings.HasSuffix(lines[crash], "last stderr lines:"), lines[crash])
	assert.Regexp(t, `^      \S`, lines[crash+1], "the first stderr line, indented")
	for _, l := range strings.Split(out, "\n") {
		assert.NotContains(t, l, `\n`, "no literal newline escapes in the text output")
	}
}

// A native plugin that crashes, or ends the process, takes run's host
// process with it: run exits with a status of its own (3, not the Go
// runtime's 2, which reads as a usage error), and says what died, in which
// step, which native plugin ran there and how to contain it. In the
// process sandbox the same crash is an outcome, and run exits 0.
func TestRunNativeCrashExitsWithItsOwnStatus(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "hostile", cbuild.Plugin(t, "hostile"), "")
	script := func(tool string) string {
		f := filepath.Join(t.TempDir(), "s.jsonl")
		require.NoError(t, os.WriteFile(f, []byte(oneStart+`{"event":"tool_call","session":"s1","tool":"`+tool+`","input":{}}`+"\n"), 0o644))
		return f
	}
	segv := script("segv")
	r := cli(t, "run", "--plugins", root, "--events", segv)
	if !canSupervise {
		assert.NotEqual(t, exitOK, r.exit, "where run cannot be supervised the crash still fails")
		return
	}
	assert.Equal(t, exitCrashed, r.exit, r.stderr)
	want := "clawd-plugin run: crashed: the host process died (" + segvName + ": segmentation violation) while playing script line 2 (tool_call); native plugin hostile 1.0.0 runs in it."
	assert.Contains(t, r.stderr, "\n"+want+" A native plugin runs in the host's process, so its crash takes the host down: run it in the process sandbox (--sandbox process")
	assert.Equal(t, 1, strings.Count(r.stderr, "clawd-plugin run: "), "one line of ours")

	r = cli(t, "run", "--plugins", root, "--events", segv, "--json")
	assert.Equal(t, exitCrashed, r.exit)
	recs := jsonRecords(t, stripPluginNoise(r.stdout))
	last := recs[len(recs)-1]
	assert.Equal(t, "error", last["type"])
	assert.Equal(t, "crashed", last["code"])
	assert.True(t, strings.HasPrefix(last["error"].(string), "the host process died ("), last["error"])

	r = cli(t, "run", "--plugins", root, "--events", script("exit0"))
	assert.Equal(t, exitCrashed, r.exit, "exit(0) inside a callback is not a run that finished")
	assert.Contains(t, r.stderr, "clawd-plugin run: crashed: the host process ended (exit status 0) before run finished while playing script line 2 (tool_call); native plugin hostile 1.0.0 runs in it.")

	r = cli(t, "run", "--plugins", root, "--events", segv, "--sandbox", "process")
	assert.Equal(t, exitOK, r.exit, r.stderr)
	assert.Regexp(t, `(?m)^  hostile 1\.0\.0: crashed \(`, r.stdout)
	assert.NotContains(t, r.stderr, "clawd-plugin run: crashed")
}

// stripPluginNoise drops the lines hostile prints on its own stdout.
func stripPluginNoise(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "{") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// Hints that give a command line to type name the command as it was run:
// the bare name from the PATH, bin/clawd-plugin after make build.
func TestHintsNameTheCommandAsRun(t *testing.T) {
	for arg0, want := range map[string]string{
		"clawd-plugin":     "clawd-plugin",
		"bin/clawd-plugin": "bin/clawd-plugin",
		"./clawd-plugin":   "./clawd-plugin",
		"/cache/go-build123/b001/exe/clawd-plugin": "go run ./cmd/clawd-plugin",
		"dir with space/clawd-plugin":              "clawd-plugin",
	} {
		assert.Equal(t, want, invokedAs(arg0), arg0)
	}
	r := cli(t, "run", "--jsno")
	assert.Equal(t, "clawd-plugin run: unknown flag --jsno; did you mean --json? ("+bin+" run --help lists the flags)\n", r.stderr)
}

// inspect's text shows a failure's code on its line and the message
// without "clawd:" or the code again.
func TestInspectMessageSaysTheCodeOnce(t *testing.T) {
	r := cli(t, "inspect", cbuild.Plugin(t, "bad_abi"))
	require.Equal(t, exitInvalid, r.exit, r.stdout)
	assert.Contains(t, r.stdout, "error:     abi_mismatch\n")
	i := strings.Index(r.stdout, "message:   ")
	require.GreaterOrEqual(t, i, 0, r.stdout)
	msg := r.stdout[i:]
	assert.NotContains(t, msg, "clawd:")
	assert.NotContains(t, msg, "abi_mismatch")
	assert.Contains(t, msg, "abi_version is 2")
	assert.Equal(t, "x: y", withoutCode("clawd: x: crashed: y", "crashed"))
}
