package wasm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/wasmopt"
	"github.com/clawd-go/clawd/wasm"
)

func TestRegistered(t *testing.T) {
	assert.Contains(t, clawd.Runtimes(), clawd.RuntimeWasm)
	p, err := clawd.Open(clawd.RuntimeWasm, cbuildWasm(t, "minimal"))
	require.NoError(t, err)
	require.NoError(t, p.Close())
}

// Open gives a clawd.Plugin that is also a clawd.Hooker, and on failure
// an untyped nil (never a nil pointer inside the interface).
func TestOpenGivesThePluginInterface(t *testing.T) {
	p, err := wasm.Open(cbuildWasm(t, "minimal"))
	require.NoError(t, err)
	_, hooks := p.(clawd.Hooker)
	assert.True(t, hooks)
	require.NoError(t, p.Close())
	p, err = wasm.Open(filepath.Join(t.TempDir(), "missing.wasm"))
	require.Error(t, err)
	assert.True(t, p == nil, "a failed Open returns a nil interface")
}

// Each load failure, with its exact code, as the native loader gives it.
func TestLoadCodes(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text.wasm")
	require.NoError(t, os.WriteFile(text, []byte("not a module at all"), 0o644))
	badMagic := filepath.Join(dir, "badversion.wasm")
	require.NoError(t, os.WriteFile(badMagic, []byte("\x00asm\x02\x00\x00\x00"), 0o644))
	truncated := filepath.Join(dir, "truncated.wasm")
	require.NoError(t, os.WriteFile(truncated, []byte("\x00asm\x01\x00\x00\x00\x01\x05"), 0o644))
	native := cbuild.Plugin(t, "minimal")

	for _, tc := range []struct {
		name     string
		mod      func(t *testing.T) string
		code     clawerr.Code
		contains string
	}{
		{"text", func(*testing.T) string { return text }, clawerr.OpenFailed, "not a WebAssembly module"},
		{"version 2", func(*testing.T) string { return badMagic }, clawerr.OpenFailed, "binary version 2"},
		{"truncated", func(*testing.T) string { return truncated }, clawerr.OpenFailed, "not a valid WebAssembly module"},
		{"native library", func(*testing.T) string { return native }, clawerr.OpenFailed, "not a WebAssembly module"},
		{"missing", func(*testing.T) string { return filepath.Join(dir, "nothere.wasm") }, clawerr.OpenFailed, ""},
		{"missing_init", func(t *testing.T) string { return cbuildWasm(t, "missing_init") }, clawerr.MissingInit, "does not export clawd_plugin_init"},
		{"init_null", func(t *testing.T) string { return cbuildWasm(t, "init_null") }, clawerr.InitNull, "returned NULL"},
		{"bad_abi", func(t *testing.T) string { return cbuildWasm(t, "bad_abi") }, clawerr.ABIMismatch, "abi_version is"},
		{"reserved_slot", func(t *testing.T) string { return cbuildWasm(t, "reserved_slot") }, clawerr.ReservedSlotSet, "_reserved["},
		{"bad_name_unterminated", func(t *testing.T) string { return cbuildWasm(t, "bad_name_unterminated") }, clawerr.BadName, "no NUL terminator within bound"},
		{"bad_name_utf8", func(t *testing.T) string { return cbuildWasm(t, "bad_name_utf8") }, clawerr.BadName, "not valid UTF-8"},
		{"name outside memory", func(t *testing.T) string { return cbuildWasm(t, "wasm_guest", "-DNAME_PTR=0xfffff000") }, clawerr.BadName, "outside linear memory"},
		{"version outside memory", func(t *testing.T) string { return cbuildWasm(t, "wasm_guest", "-DVERSION_PTR=0xfffffff0") }, clawerr.BadVersion, "outside linear memory"},
		{"on_load_failed", func(t *testing.T) string { return cbuildWasm(t, "on_load_fails") }, clawerr.OnLoadFailed, ""},
		{"wrong slot type", func(t *testing.T) string { return cbuildWasm(t, "wasm_guest", "-DWRONG_SLOT") }, clawerr.ABIMismatch, "on_tool_call is function table entry"},
		{"slot past the table", func(t *testing.T) string { return cbuildWasm(t, "wasm_guest", "-DBAD_SLOT") }, clawerr.ABIMismatch, "on_message is function table entry 32767"},
		{"trap in init", func(t *testing.T) string { return cbuildWasm(t, "wasm_guest", "-DTRAP_IN_INIT") }, clawerr.Crashed, "trap in clawd_plugin_init"},
		{"trap in on_load", func(t *testing.T) string { return cbuildWasm(t, "wasm_guest", "-DTRAP_ON_LOAD") }, clawerr.Crashed, "trap in on_load: wasm error: unreachable"},
		{"reference shape", func(t *testing.T) string { return cbuild.WasmBare(t, "wasm_refshape") }, clawerr.RuntimeUnsupported,
			"reference daemon's WASM shape (imports env.clawd_log, env.clawd_send_event; exports on_tool_call): it lacks the ClawaPlugin table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wasm.OpenPlugin(tc.mod(t))
			codeIs(t, err, tc.code, tc.contains)
		})
	}
}

func TestNullName(t *testing.T) {
	g := open(t, cbuildWasm(t, "null_name"))
	assert.Equal(t, "null_name", g.Name(), "the file stem")
	assert.Contains(t, g.Warnings(), "name is NULL")
	assert.NotEmpty(t, g.lines("plugin loads with a warning: name is NULL"))
}

func TestUnknownCode(t *testing.T) {
	g := open(t, cbuildWasm(t, "echo"))
	codeIs(t, g.Call(context.Background(), clawd.ToolCall("s", "code:42", "{}")), clawerr.UnknownCode)
	err := g.Call(context.Background(), clawd.ToolCall("s", "notfound", "{}"))
	codeIs(t, err, clawerr.CallbackError)
	assert.ErrorIs(t, err, abi.NotFound)
}

func TestMemoryCapAtLoad(t *testing.T) {
	// zig's default 1 MiB stack makes the initial memory 257 pages (16 MiB+).
	mod := cbuildWasm(t, "minimal", "-Wl,-z,stack-size=16777216")
	_, err := wasm.OpenPlugin(mod, clawd.WithMemoryLimitMB(8))
	codeIs(t, err, clawerr.OpenFailed, "min 257 pages (16 Mi) over limit of 128 pages (8 Mi)")
	for _, mb := range []int{-1, 4097} {
		_, err = wasm.OpenPlugin(mod, clawd.WithMemoryLimitMB(mb))
		codeIs(t, err, clawerr.InvalidArgument, fmt.Sprintf("memory limit %d MiB: want 1 to 4096", mb))
	}
	// 0 is the option's zero value: the default cap, which the module fits.
	p, err := wasm.OpenPlugin(mod, clawd.WithMemoryLimitMB(0))
	require.NoError(t, err)
	require.Equal(t, wasmopt.DefaultMemoryLimitMB, p.Grants().MemoryLimitMB)
	require.NoError(t, p.Close())
}

// Glue that hands the host pointers outside linear memory is refused or
// contained, never read or written outside it.
func TestHostileGlue(t *testing.T) {
	for _, tc := range []struct {
		variant, code, contains string
	}{
		{"-DALLOC_OUTSIDE", string(clawerr.OpenFailed), "clawd_wasm_alloc returned 0xfffffff0 for 49152 bytes, outside linear memory"},
		{"-DALLOC_NULL", string(clawerr.OpenFailed), "no memory for the call contexts"},
		{"-DCTX_OUTSIDE", string(clawerr.OpenFailed), "clawd_wasm_context returned 0xfffffff0, not a ClawaContext in linear memory"},
		{"-DTABLE_OUTSIDE", string(clawerr.ABIMismatch), "cannot read the ClawaPlugin table at 0xfffffff0"},
	} {
		t.Run(tc.variant, func(t *testing.T) {
			_, err := wasm.OpenPlugin(cbuild.WasmBare(t, "wasm_hostile", tc.variant))
			codeIs(t, err, clawerr.Code(tc.code), tc.contains)
		})
	}
	t.Run("late", func(t *testing.T) {
		g := open(t, cbuild.WasmBare(t, "wasm_hostile", "-DALLOC_LATE"))
		// The first call's arguments need the second allocation; the fresh
		// instance after the fault refuses again, the plugin keeps answering.
		codeIs(t, g.Call(bg, clawd.ToolCall("s", "t", "{}")), clawerr.Crashed, "clawd_wasm_alloc returned 0xfffffff0")
		codeIs(t, g.Call(bg, clawd.ToolCall("s", "t", "{}")), clawerr.Crashed, "outside linear memory")
		assert.Equal(t, uint64(2), g.Restarts())
	})
	t.Run("host functions", func(t *testing.T) {
		g := open(t, cbuild.WasmBare(t, "wasm_hostile"))
		require.NoError(t, g.Call(bg, clawd.ToolCall("s", "t", "{}")))
		st := g.Stats()
		assert.Equal(t, uint64(4), st.InvalidArgs, "message outside, NULL message, method outside, params outside")
		assert.Equal(t, uint64(1), st.StaleLogs, "a forged context")
		assert.Equal(t, uint64(1), st.StaleEvents, "a forged context")
		lv := g.logs.FilterMessage("level above 255").All()
		require.Len(t, lv, 1)
		assert.Equal(t, "warn", lv[0].Level.String())
		assert.Equal(t, uint8(255), lv[0].ContextMap()["level"], "a level past uint8_t is unknown: 255")
		assert.Len(t, g.lines("done"), 1)
	})
}
