//! hello-zig: the ClawD plugin example in Zig. It behaves like
//! examples/c/hello: a log line at info level for each callback, and on a
//! tool call the event "hello.tool_called" {"tool":"<name>"} (needs the
//! network.relay capability).
//!
//! The ABI types come from include/clawd_plugin.zig (the header's
//! declarations for Zig), which the Makefile passes as the module
//! "clawd_plugin".
//!
//! Lifetime rules (include/clawd_plugin.h has the full text): the table and
//! its strings are static; ctx and every [*c]const u8 argument are the
//! host's and valid only until the callback returns; the lines we pass to
//! log and send_event live in stack buffers, read before those return.
const std = @import("std");
const c = @import("clawd_plugin");

/// Zig does not unwind: a safety check that fails (or @panic) calls this,
/// which prints the message and aborts, taking the host down as any crash
/// of a native plugin does. The default handler would also work, but it
/// drags the whole std I/O and stack-trace machinery into the library.
pub const panic = std.debug.FullPanic(abortPanic);

fn abortPanic(msg: []const u8, _: ?usize) noreturn {
    writeStderr(msg);
    writeStderr("\n");
    std.c.abort();
}

/// The C runtime's write on Windows, where std.c.write takes a HANDLE.
extern "c" fn _write(fd: c_int, buf: [*]const u8, n: c_uint) c_int;

fn writeStderr(b: []const u8) void {
    if (@import("builtin").os.tag == .windows) {
        _ = _write(2, b.ptr, @truncate(@min(b.len, std.math.maxInt(c_uint))));
    } else {
        _ = std.c.write(2, b.ptr, b.len);
    }
}

/// A log line in a stack buffer, cut at 511 bytes on a UTF-8 character
/// boundary (input_json can be megabytes; the host wants valid UTF-8).
const Line = struct {
    buf: [512]u8 = undefined,
    len: usize = 0,
    full: bool = false,

    fn add(self: *Line, s: []const u8) void {
        if (self.full) return;
        const room = self.buf.len - 1 - self.len;
        var n = s.len;
        if (n > room) {
            n = room;
            while (n > 0 and (s[n] & 0xC0) == 0x80) n -= 1;
            self.full = true;
        }
        @memcpy(self.buf[self.len..][0..n], s[0..n]);
        self.len += n;
    }

    fn z(self: *Line) [*:0]const u8 {
        self.buf[self.len] = 0;
        return @ptrCast(&self.buf);
    }
};

fn say(ctx: [*c]c.ClawaContext, level: u8, parts: []const []const u8) void {
    var line: Line = .{};
    for (parts) |p| line.add(p);
    ctx.*.log.?(ctx, level, line.z());
}

/// A host string as a slice; valid until the callback returns.
fn str(p: [*c]const u8) []const u8 {
    return if (p == null) "" else std.mem.span(p);
}

/// Appends s to line as a JSON string literal; false if it does not fit.
fn jsonString(line: *Line, s: []const u8) bool {
    const hex = "0123456789abcdef";
    line.add("\"");
    for (s) |ch| {
        switch (ch) {
            '"', '\\' => line.add(&[_]u8{ '\\', ch }),
            0...0x1f => line.add(&[_]u8{ '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 0xf] }),
            else => line.add(&[_]u8{ch}),
        }
    }
    line.add("\"");
    return !line.full;
}

fn onLoad(ctx: [*c]c.ClawaContext) callconv(.c) c.ClawaError {
    say(ctx, c.CLAWA_LOG_INFO, &.{"hello plugin loaded"});
    return c.CLAWA_ERROR_NONE;
}

fn onUnload(ctx: [*c]c.ClawaContext) callconv(.c) void {
    say(ctx, c.CLAWA_LOG_INFO, &.{"goodbye"});
}

fn onSessionStart(ctx: [*c]c.ClawaContext, session_id: [*c]const u8) callconv(.c) c.ClawaError {
    say(ctx, c.CLAWA_LOG_INFO, &.{ "session ", str(session_id), " started" });
    return c.CLAWA_ERROR_NONE;
}

fn onSessionEnd(ctx: [*c]c.ClawaContext, session_id: [*c]const u8) callconv(.c) c.ClawaError {
    say(ctx, c.CLAWA_LOG_INFO, &.{ "session ", str(session_id), " ended" });
    return c.CLAWA_ERROR_NONE;
}

fn onToolCall(ctx: [*c]c.ClawaContext, _: [*c]const u8, tool_name: [*c]const u8, input_json: [*c]const u8) callconv(.c) c.ClawaError {
    const tool = str(tool_name);
    say(ctx, c.CLAWA_LOG_INFO, &.{ "tool ", tool, " called with ", str(input_json) });

    var params: Line = .{};
    params.add("{\"tool\":");
    _ = jsonString(&params, tool);
    params.add("}");
    if (params.full) {
        say(ctx, c.CLAWA_LOG_WARN, &.{"tool name too long for the event"});
        return c.CLAWA_ERROR_CALLBACK_ERROR;
    }
    const rc = ctx.*.send_event.?(ctx, "hello.tool_called", params.z());
    if (rc != c.CLAWA_ERROR_NONE) {
        // Without network.relay the host answers CAPABILITY_DENIED: say so,
        // but the tool call itself still succeeds.
        var num: [16]u8 = undefined;
        const n = std.fmt.bufPrint(&num, "{d}", .{rc}) catch unreachable;
        say(ctx, c.CLAWA_LOG_WARN, &.{ "the host refused the event (ClawaError ", n, ")" });
    }
    return c.CLAWA_ERROR_NONE;
}

fn onMessage(ctx: [*c]c.ClawaContext, _: [*c]const u8, role: [*c]const u8, content_json: [*c]const u8) callconv(.c) c.ClawaError {
    say(ctx, c.CLAWA_LOG_INFO, &.{ "message from ", str(role), ": ", str(content_json) });
    return c.CLAWA_ERROR_NONE;
}

/// Static: valid until the library is closed. The reserved slots keep their
/// default, NULL.
var table: c.ClawaPlugin = .{
    .abi_version = c.CLAWD_PLUGIN_ABI_VERSION,
    .name = "hello-zig",
    .version = "1.0.0",
    .on_load = onLoad,
    .on_unload = onUnload,
    .on_session_start = onSessionStart,
    .on_session_end = onSessionEnd,
    .on_tool_call = onToolCall,
    .on_message = onMessage,
};

/// The one exported symbol (`export`: C name, C calling convention).
export fn clawd_plugin_init() callconv(.c) [*c]c.ClawaPlugin {
    return &table;
}
