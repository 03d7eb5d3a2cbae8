//! The ClawD plugin C ABI, version 1, for Zig: the declarations of
//! clawd_plugin.h, written out so that a Zig plugin imports them as a
//! module (`const c = @import("clawd_plugin");`) with no `zig translate-c`
//! step. The names are the header's; the header's comments give the rules
//! (who owns what, and for how long).
//!
//! The structs are `extern`: Zig lays them out as C does on every target,
//! 8-byte pointers on 64-bit hosts and 4-byte ones on wasm32. The asserts at
//! the end pin both layouts to the header's; include/layout_test.go
//! compares what a program built against this file prints with the
//! project's one list of layout facts.

/// CLAWD_PLUGIN_ABI_VERSION: what ClawaPlugin.abi_version must hold.
pub const CLAWD_PLUGIN_ABI_VERSION: u32 = 1;
/// CLAWD_PLUGIN_RESERVED: the reserved slots at the end of both structs.
pub const CLAWD_PLUGIN_RESERVED = 8;
/// The one symbol a plugin exports.
pub const CLAWD_PLUGIN_INIT_SYMBOL = "clawd_plugin_init";

/// enum ClawaError: 4 bytes, what a callback and send_event return.
pub const ClawaError = c_uint;
pub const CLAWA_ERROR_NONE: ClawaError = 0; // success
pub const CLAWA_ERROR_INIT_FAILED: ClawaError = 1; // plugin setup failed (on_load)
pub const CLAWA_ERROR_CALLBACK_ERROR: ClawaError = 2; // a callback failed
pub const CLAWA_ERROR_CAPABILITY_DENIED: ClawaError = 3; // operation not allowed for this plugin
pub const CLAWA_ERROR_NOT_FOUND: ClawaError = 4; // resource does not exist
pub const CLAWA_ERROR_DAEMON_ERROR: ClawaError = 5; // host-side failure

/// The levels of ClawaContext.log.
pub const CLAWA_LOG_TRACE: u8 = 0;
pub const CLAWA_LOG_DEBUG: u8 = 1;
pub const CLAWA_LOG_INFO: u8 = 2;
pub const CLAWA_LOG_WARN: u8 = 3;
pub const CLAWA_LOG_ERROR: u8 = 4;

/// enum ClawaEventType.
pub const ClawaEventType = c_uint;
pub const CLAWA_EVENT_SESSION_START: ClawaEventType = 0;
pub const CLAWA_EVENT_SESSION_END: ClawaEventType = 1;
pub const CLAWA_EVENT_TOOL_CALL: ClawaEventType = 2;
pub const CLAWA_EVENT_MESSAGE: ClawaEventType = 3;
pub const CLAWA_EVENT_TASK_STATUS: ClawaEventType = 4;
pub const CLAWA_EVENT_GIT_COMMIT: ClawaEventType = 5;
pub const CLAWA_EVENT_SHUTDOWN: ClawaEventType = 6;

/// The host's handle for one callback. Valid only until the callback
/// returns; the strings passed to send_event and log are read before those
/// return.
pub const ClawaContext = extern struct {
    /// The host's; never read or write it.
    _inner: ?*anyopaque = null,
    /// Sends an event (needs the network.relay capability): method non-empty
    /// UTF-8, params_json a JSON object, both NUL-terminated.
    send_event: ?*const fn (ctx: [*c]ClawaContext, method: [*c]const u8, params_json: [*c]const u8) callconv(.c) ClawaError = null,
    /// Writes a line in the host's log; level is a CLAWA_LOG_* value.
    log: ?*const fn (ctx: [*c]ClawaContext, level: u8, msg: [*c]const u8) callconv(.c) void = null,
    /// NULL; reserved for later minor versions.
    _reserved: [CLAWD_PLUGIN_RESERVED]?*anyopaque = @splat(null),
};

/// The plugin's table, returned by clawd_plugin_init. It and its strings
/// must live until the library is closed (a global `var`).
pub const ClawaPlugin = extern struct {
    abi_version: u32 = CLAWD_PLUGIN_ABI_VERSION,
    /// NUL-terminated UTF-8, at most 256 bytes with its NUL.
    name: [*c]const u8 = null,
    /// NUL-terminated semver ("1.2.0"), at most 256 bytes with its NUL.
    version: [*c]const u8 = null,
    on_load: ?*const fn (ctx: [*c]ClawaContext) callconv(.c) ClawaError = null,
    on_unload: ?*const fn (ctx: [*c]ClawaContext) callconv(.c) void = null,
    on_session_start: ?*const fn (ctx: [*c]ClawaContext, session_id: [*c]const u8) callconv(.c) ClawaError = null,
    on_session_end: ?*const fn (ctx: [*c]ClawaContext, session_id: [*c]const u8) callconv(.c) ClawaError = null,
    on_tool_call: ?*const fn (ctx: [*c]ClawaContext, session_id: [*c]const u8, tool_name: [*c]const u8, input_json: [*c]const u8) callconv(.c) ClawaError = null,
    on_message: ?*const fn (ctx: [*c]ClawaContext, session_id: [*c]const u8, role: [*c]const u8, content_json: [*c]const u8) callconv(.c) ClawaError = null,
    /// Must all be NULL: hosts refuse a table with any of them set.
    _reserved: [CLAWD_PLUGIN_RESERVED]?*const fn () callconv(.c) void = @splat(null),
};

/// The type of clawd_plugin_init.
pub const ClawaPluginInitFn = ?*const fn () callconv(.c) [*c]ClawaPlugin;

// The header's static asserts, for the same two pointer sizes: offsets and
// sizes are 8-byte-pointer figures on 64-bit targets, 4-byte on wasm32.
comptime {
    const p = @sizeOf(usize);
    if (p != 8 and p != 4) @compileError("clawd_plugin.zig: the ABI is defined for 64-bit targets and wasm32");
    const Check = struct {
        fn at(comptime T: type, comptime field: []const u8, comptime want: usize) void {
            if (@offsetOf(T, field) != want) @compileError("clawd_plugin.zig: " ++ @typeName(T) ++ "." ++ field ++ " is not where clawd_plugin.h puts it");
        }
    };
    if (@sizeOf(ClawaError) != 4) @compileError("clawd_plugin.zig: ClawaError must be 4 bytes");
    Check.at(ClawaContext, "_inner", 0);
    Check.at(ClawaContext, "send_event", p);
    Check.at(ClawaContext, "log", 2 * p);
    Check.at(ClawaContext, "_reserved", 3 * p);
    if (@sizeOf(ClawaContext) != 11 * p) @compileError("clawd_plugin.zig: ClawaContext is not 88 bytes (44 on wasm32)");
    Check.at(ClawaPlugin, "abi_version", 0);
    Check.at(ClawaPlugin, "name", p);
    Check.at(ClawaPlugin, "version", 2 * p);
    Check.at(ClawaPlugin, "on_load", 3 * p);
    Check.at(ClawaPlugin, "on_unload", 4 * p);
    Check.at(ClawaPlugin, "on_session_start", 5 * p);
    Check.at(ClawaPlugin, "on_session_end", 6 * p);
    Check.at(ClawaPlugin, "on_tool_call", 7 * p);
    Check.at(ClawaPlugin, "on_message", 8 * p);
    Check.at(ClawaPlugin, "_reserved", 9 * p);
    if (@sizeOf(ClawaPlugin) != 17 * p) @compileError("clawd_plugin.zig: ClawaPlugin is not 136 bytes (68 on wasm32)");
}
