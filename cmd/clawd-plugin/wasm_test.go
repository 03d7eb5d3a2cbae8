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

// wasmPluginDir writes root/name/ with mod as name.wasm and a plugin.toml
// saying runtime = "wasm", plus extra lines.
func wasmPluginDir(t *testing.T, root, name, mod, extra string) string {
	t.Helper()
	dir := filepath.Join(root, name)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	b, err := os.ReadFile(mod)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".wasm"), b, 0o644))
	toml := "name = \"" + name + "\"\nversion = \"1.0.0\"\nruntime = \"wasm\"\nentry = \"" + name + ".wasm\"\n" + extra
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(toml), 0o644))
	return dir
}

// inspect takes a bare .wasm and a wasm plugin directory: it says runtime
// wasm and what the sandbox grants, in text and in --json (the existing
// fields kept, runtime and grants added).
func TestInspectWASM(t *testing.T) {
	mod := cbuild.WasmPlugin(t, "echo")
	r := cli(t, "inspect", mod)
	require.Equal(t, exitOK, r.exit, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "runtime:   wasm\n")
	assert.Contains(t, r.stdout, "sandbox:   wasm: memory 256 MiB; deadline: the caller's; files: none; send_event: refused (CapabilityDenied); sockets: none; 1 instance (calls serialized)\n")
	assert.Contains(t, r.stdout, "host:      wasm runtime (wazero, pure Go)\n")

	r = cli(t, "inspect", "--json", mod)
	require.Equal(t, exitOK, r.exit, r.stdout+r.stderr)
	var rep map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	for _, k := range []string{"schema", "ok", "name", "version", "abi_version", "callbacks", "warnings"} {
		assert.Contains(t, rep, k)
	}
	assert.Equal(t, "wasm", rep["runtime"])
	assert.Equal(t, map[string]any{"memory_limit_mb": 256.0, "deadlines": true, "call_timeout_ms": 0.0,
		"mounts": []any{}, "relay": false, "instances": 1.0}, rep["grants"])

	root := t.TempDir()
	dir := wasmPluginDir(t, root, "echo", mod, "capabilities = [\"fs.read\", \"network.relay\"]\nmemory_limit_mb = 32\ncall_timeout_ms = 250\nconcurrent = true\n")
	r = cli(t, "inspect", "--json", dir)
	require.Equal(t, exitOK, r.exit, r.stdout+r.stderr)
	rep = nil
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	wd, err := os.Getwd()
	require.NoError(t, err)
	g := rep["grants"].(map[string]any)
	assert.Equal(t, 32.0, g["memory_limit_mb"])
	assert.Equal(t, 250.0, g["call_timeout_ms"])
	assert.Equal(t, true, g["relay"])
	assert.Equal(t, []any{map[string]any{"capability": "fs.read", "dir": wd, "guest": "/", "read_only": true}}, g["mounts"])
	assert.Greater(t, g["instances"], 0.0)
	m := rep["manifest"].(map[string]any)
	assert.Equal(t, "wasm", m["runtime"])
	assert.Equal(t, "wasm", m["sandbox"])

	r = cli(t, "inspect", dir)
	assert.Contains(t, r.stdout, "deadline: the caller's, at most 250ms; fs.read: "+wd+" read-only at /; send_event: allowed")

	// A native library says so.
	r = cli(t, "inspect", "--json", cbuild.Plugin(t, "echo"))
	require.Equal(t, exitOK, r.exit, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, `"runtime":"native"`)
	assert.NotContains(t, r.stdout, `"grants"`)

	// A module the wasm runtime refuses: its code.
	r = cli(t, "inspect", "--json", cbuild.WasmPlugin(t, "missing_init"))
	assert.Equal(t, exitInvalid, r.exit)
	assert.Contains(t, r.stdout, `"code":"missing_init"`)
}

// check runs the applicable checks against a .wasm, and reports the others
// skip with the reason; a module that breaks a rule fails that check.
func TestCheckWASM(t *testing.T) {
	r := cli(t, "check", "--json", cbuild.WasmPlugin(t, "echo"))
	require.Equal(t, exitOK, r.exit, r.stdout+r.stderr)
	var rep struct {
		OK     bool `json:"ok"`
		Checks []struct{ ID, Status, Message string }
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	status := map[string]string{}
	for _, c := range rep.Checks {
		status[c.ID] = c.Status + ": " + c.Message
	}
	assert.True(t, strings.HasPrefix(status["hygiene.signals"], "skip: a WASM guest cannot"), status["hygiene.signals"])
	assert.True(t, strings.HasPrefix(status["callbacks.large_input"], "pass"), status["callbacks.large_input"])
	assert.True(t, strings.HasPrefix(status["export.init"], "pass"), status["export.init"])

	r = cli(t, "check", cbuild.WasmPlugin(t, "fragile", "-DFRAGILE_DEEP"))
	assert.Equal(t, exitInvalid, r.exit)
	assert.Regexp(t, `fail +callbacks\.deep_json +crashed in on_tool_call`, r.stdout)
}

// run plays a session through wasm and native plugins in one --plugins
// directory.
func TestRunMixesWASMAndNative(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), `"network.relay"`)
	wasmPluginDir(t, root, "wecho", cbuild.WasmPlugin(t, "echo", `-DECHO_NAME="wecho"`), "capabilities = [\"network.relay\"]\n")
	out, code := runScript(t, "--plugins", root)
	assert.Equal(t, exitOK, code, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Contains(t, lines, "plugin echo 1.0.0: active")
	assert.Contains(t, lines, "plugin wecho 1.0.0: active")
	assert.Contains(t, lines, "log    info  echo 1.0.0: input:{\"q\":\"x\"}")
	assert.Contains(t, lines, "log    info  wecho 1.0.0: input:{\"q\":\"x\"}")
	assert.Contains(t, lines, "log    info  wecho 1.0.0: content:\"hi\"")
}

// run --plugin FILE plays the script through a bare module too, beside the
// --plugins directories, with no capabilities; a file that is not a
// module is refused with its code.
func TestRunBareModule(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), `"network.relay"`)
	mod := cbuild.WasmPlugin(t, "echo", `-DECHO_NAME="bare"`)
	out, code := runScript(t, "--plugins", root, "--plugin", mod)
	assert.Equal(t, exitOK, code, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Contains(t, lines, "plugin bare 1.0.0: active")
	assert.Contains(t, lines, "plugin echo 1.0.0: active")
	assert.Contains(t, lines, "log    info  bare 1.0.0: input:{\"q\":\"x\"}")
	assert.Contains(t, lines, "log    info  bare 1.0.0: send_event:3", "no manifest, no network.relay: CapabilityDenied")
	assert.Contains(t, lines, "log    info  echo 1.0.0: send_event:0")

	out, code = runScript(t, "--plugin", mod) // no --plugins: ./plugins is not needed
	assert.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "plugin bare 1.0.0: active")

	out, code = runScript(t, "--json", "--plugin", cbuild.Plugin(t, "echo"))
	assert.Equal(t, exitInvalid, code)
	assert.Contains(t, out, `"code":"open_failed"`)
	assert.Contains(t, out, "--plugin takes a plugin directory or a WebAssembly module")
}
