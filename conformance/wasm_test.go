package conformance_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clawd-go/clawd/conformance"
	"github.com/clawd-go/clawd/internal/cbuild"
)

func wasmPlugin(name string, flags ...string) func(*testing.T) string {
	return func(t *testing.T) string { return cbuild.WasmPlugin(t, name, flags...) }
}

// wasmDir puts a test plugin built as a WASM module in a directory whose
// manifest says runtime "wasm".
func wasmDir(name string, fields map[string]any, flags ...string) func(*testing.T) string {
	return func(t *testing.T) string {
		return pluginDir(t, cbuild.WasmPlugin(t, name, flags...), name+".wasm", "", func(_ *testing.T, _ string, m map[string]any) {
			m["name"], m["version"], m["runtime"] = name, "1.0.0", "wasm"
			for k, v := range fields {
				m[k] = v
			}
		})
	}
}

// The checks a WASM guest cannot fail, each skipped with why.
var wasmSkips = map[string]string{
	"export.namespace":      "a WASM module's exports are its own namespace",
	"init.idempotent":       "the wasm runtime calls clawd_plugin_init once per instance",
	"lifecycle.threads":     "a WASM guest (wasm32-wasi) has no threads",
	"hygiene.signals":       "a WASM guest cannot see or change the process's signal actions",
	"hygiene.cwd_env_umask": "a WASM guest cannot change the host's working directory",
	"hygiene.stdout":        "a WASM guest's stdout becomes log lines of the plugin",
}

// TestWASMVerdicts runs the suite on test plugins built as WASM modules:
// the applicable checks run through the wasm runtime and catch what they
// catch in a shared library (a trap where the library would crash), the
// others are skipped with the reason.
func TestWASMVerdicts(t *testing.T) {
	crashed := "crashed in "
	all := []verdict{
		{name: "wasm echo", path: wasmPlugin("echo")},
		{name: "wasm echo dir, concurrent", path: wasmDir("echo", map[string]any{"concurrent": true, "capabilities": []string{"network.relay"}})},
		{name: "wasm hello dir", contained: true, path: func(t *testing.T) string {
			root, err := cbuild.RepoRoot()
			if err != nil {
				t.Fatal(err)
			}
			return pluginDir(t, cbuild.WasmModule(t, "examples/c/hello/hello.c"), "hello.wasm",
				filepath.Join(root, "examples/c/hello/clawd-plugin.json"), func(_ *testing.T, _ string, m map[string]any) { m["runtime"] = "wasm" })
		}},
		{name: "wasm echo without network.relay", path: wasmDir("echo", map[string]any{"capabilities": []string{}}), fail: []string{"context.relay"}},
		{name: "wasm fragile on deep JSON", path: wasmPlugin("fragile", "-DFRAGILE_DEEP"), fail: []string{"callbacks.deep_json"},
			messages: map[string]string{"callbacks.deep_json": crashed + "on_tool_call (JSON nested"}},
		{name: "wasm fragile on UTF-8", path: wasmPlugin("fragile", "-DFRAGILE_UTF8"), fail: []string{"callbacks.utf8"}},
		{name: "wasm fragile on empty strings", path: wasmPlugin("fragile", "-DFRAGILE_EMPTY"), fail: []string{"callbacks.empty_strings"}},
		{name: "wasm unknown_code", path: wasmPlugin("unknown_code"), fail: []string{"callbacks.codes"}},
		{name: "wasm log_level", path: wasmPlugin("log_level"), fail: []string{"context.log_levels"}},
		{name: "wasm null_name", path: wasmPlugin("null_name"), fail: []string{"strings.name", "strings.version"}},
		{name: "wasm bad_abi", path: wasmPlugin("bad_abi"), fail: []string{"init.abi_version"}, notLoaded: "abi_mismatch"},
		{name: "wasm reserved_slot", path: wasmPlugin("reserved_slot"), fail: []string{"init.reserved"}, notLoaded: "reserved_slot_set"},
		{name: "wasm init_null", path: wasmPlugin("init_null"), fail: []string{"init.non_null"}, notLoaded: "init_null"},
		{name: "wasm missing_init", path: wasmPlugin("missing_init"), fail: []string{"export.init"}, notLoaded: "missing_init"},
		{name: "wasm bad name pointer", path: wasmPlugin("wasm_guest", "-DNAME_PTR=0x7ffffff0"), fail: []string{"strings.name"}, notLoaded: "bad_name"},
		{name: "wasm on_load_fails", path: wasmPlugin("on_load_fails"), fail: []string{"lifecycle.on_load"}, notLoaded: "on_load_failed"},
		{name: "wasm trap in on_load", path: wasmPlugin("wasm_guest", "-DTRAP_ON_LOAD"), fail: []string{"lifecycle.on_load"}, notLoaded: "crashed",
			messages: map[string]string{"lifecycle.on_load": "crashed in opening the module (on_load)"}},
		{name: "wasm trap in init", path: wasmPlugin("wasm_guest", "-DTRAP_IN_INIT"), fail: []string{"init.non_null"}, notLoaded: "crashed"},
	}
	for _, v := range all {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			rep, err := conformance.Run(context.Background(), v.path(t), v.runOpts()...)
			if err != nil {
				t.Fatal(err)
			}
			checkVerdict(t, v, rep)
			for id, why := range wasmSkips {
				c := result(rep, id)
				if v.notLoaded != "" && strings.HasPrefix(c.Message, "plugin does not load: ") {
					continue // checkVerdict judged it
				}
				if c.Status != conformance.StatusSkip || !strings.HasPrefix(c.Message, why) {
					t.Errorf("%s: %s %q, want skip with %q", id, c.Status, c.Message, why)
				}
			}
		})
	}
}
