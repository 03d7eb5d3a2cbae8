//! layout_print: prints the size, alignment and every field's offset and
//! size of the ABI structs as Zig lays out include/clawd_plugin.zig (the
//! module "clawd_plugin", which is what Zig plugins import), one "<key> <n>"
//! line each, the format of layout_print.c. include/layout_test.go compares
//! the output with the one list in include/include.go.
//!
//! The fields are enumerated from the types themselves, so a field the
//! declarations dropped or added shows up as a missing or unknown
//! key. The text is built at compile time and written with libc's write,
//! which keeps this file independent of the std I/O API (it changes between
//! Zig releases).
const std = @import("std");
const c = @import("clawd_plugin");

fn line(comptime key: []const u8, comptime value: comptime_int) []const u8 {
    return std.fmt.comptimePrint("{s} {d}\n", .{ key, value });
}

fn structLines(comptime T: type, comptime name: []const u8) []const u8 {
    comptime var out: []const u8 = line(name ++ ".size", @sizeOf(T)) ++ line(name ++ ".align", @alignOf(T));
    // std.meta.fieldNames and @FieldType rather than @typeInfo, whose
    // shape changes between Zig releases.
    inline for (std.meta.fieldNames(T)) |f| {
        out = out ++ line(name ++ "." ++ f, @offsetOf(T, f)) ++
            line(name ++ "." ++ f ++ ".size", @sizeOf(@FieldType(T, f)));
    }
    return out;
}

const text = blk: {
    @setEvalBranchQuota(100_000); // comptimePrint parses each format at compile time
    break :blk structLines(c.ClawaPlugin, "ClawaPlugin") ++
        structLines(c.ClawaContext, "ClawaContext") ++
        line("ClawaError.size", @sizeOf(c.ClawaError)) ++
        line("ClawaError.align", @alignOf(c.ClawaError)) ++
        line("CLAWD_PLUGIN_ABI_VERSION", c.CLAWD_PLUGIN_ABI_VERSION) ++
        line("CLAWD_PLUGIN_RESERVED", c.CLAWD_PLUGIN_RESERVED);
};

pub fn main() void {
    _ = std.c.write(1, text.ptr, text.len);
}
