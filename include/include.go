// Package include gives plugin authors the declarations of the ClawD plugin C
// ABI v1 to compile against (Header, and the Rust, Zig and WebAssembly
// bindings), held to one list of layout facts every language's declarations
// must produce.
//
//   - clawd_plugin.h: the C header, for C and C++.
//   - clawd_plugin.rs: the same declarations for Rust (#[repr(C)] types).
//   - clawd_plugin.zig: the same declarations for Zig (extern structs),
//     imported as the module "clawd_plugin".
//
// All three are embedded (Header, RustBindings, ZigBindings) so that
// `clawd-plugin new` can copy them into a fresh project without the
// repository at hand.
//
// The layout facts are the size, alignment and offset of every field of
// ClawaPlugin and ClawaContext on LP64 and Win64, and on wasm32. They are
// written once, here: the tests in this directory compare them with the Go
// mirrors the runtimes read and with what a C, a Rust and a Zig program
// (testdata/layout_print.*) print, and with what the C printer prints built
// for wasm32-wasi and run under wazero, all in the same "<key> <value>" line
// format. A language whose declarations drift fails
// there, not in a host at run time.
package include

import _ "embed" // for the headers

// Header is include/clawd_plugin.h.
//
//go:embed clawd_plugin.h
var Header []byte

// WasmGlue is include/clawd_plugin_wasm.c, the one wasm-only file a
// plugin built as a WebAssembly module links beside its unchanged source.
//
//go:embed clawd_plugin_wasm.c
var WasmGlue []byte

// RustBindings is include/clawd_plugin.rs.
//
//go:embed clawd_plugin.rs
var RustBindings []byte

// ZigBindings is include/clawd_plugin.zig.
//
//go:embed clawd_plugin.zig
var ZigBindings []byte

// fact is one line of the layout printers' output: "<Key> <Value>".
// Value is the fact on a 64-bit target (LP64 and Win64), Wasm32 on wasm32,
// where pointers, function pointers (table indices) included, are 4 bytes.
type fact struct {
	Key    string
	Value  uint64
	Wasm32 uint64
}

// layout is what every layout printer must print, each key exactly once,
// in any order: Value on a 64-bit target, Wasm32 on wasm32. Keys:
// "<Struct>.size" and ".align"; "<Struct>.<field>" is the field's offset
// and "<Struct>.<field>.size" its size; the ClawaError enum's size and
// alignment; the two constants.
var layout = []fact{
	{"ClawaPlugin.size", 136, 68},
	{"ClawaPlugin.align", 8, 4},
	{"ClawaPlugin.abi_version", 0, 0},
	{"ClawaPlugin.abi_version.size", 4, 4},
	{"ClawaPlugin.name", 8, 4},
	{"ClawaPlugin.name.size", 8, 4},
	{"ClawaPlugin.version", 16, 8},
	{"ClawaPlugin.version.size", 8, 4},
	{"ClawaPlugin.on_load", 24, 12},
	{"ClawaPlugin.on_load.size", 8, 4},
	{"ClawaPlugin.on_unload", 32, 16},
	{"ClawaPlugin.on_unload.size", 8, 4},
	{"ClawaPlugin.on_session_start", 40, 20},
	{"ClawaPlugin.on_session_start.size", 8, 4},
	{"ClawaPlugin.on_session_end", 48, 24},
	{"ClawaPlugin.on_session_end.size", 8, 4},
	{"ClawaPlugin.on_tool_call", 56, 28},
	{"ClawaPlugin.on_tool_call.size", 8, 4},
	{"ClawaPlugin.on_message", 64, 32},
	{"ClawaPlugin.on_message.size", 8, 4},
	{"ClawaPlugin._reserved", 72, 36},
	{"ClawaPlugin._reserved.size", 64, 32},

	{"ClawaContext.size", 88, 44},
	{"ClawaContext.align", 8, 4},
	{"ClawaContext._inner", 0, 0},
	{"ClawaContext._inner.size", 8, 4},
	{"ClawaContext.send_event", 8, 4},
	{"ClawaContext.send_event.size", 8, 4},
	{"ClawaContext.log", 16, 8},
	{"ClawaContext.log.size", 8, 4},
	{"ClawaContext._reserved", 24, 12},
	{"ClawaContext._reserved.size", 64, 32},

	{"ClawaError.size", 4, 4},
	{"ClawaError.align", 4, 4},
	{"CLAWD_PLUGIN_ABI_VERSION", 1, 1},
	{"CLAWD_PLUGIN_RESERVED", 8, 8},
}
