// Package clawctx is the host side of ClawaContext: the struct the host
// passes to every callback, whose log and send_event lead back into Go.
//
// Memory. Each context lives outside the Go heap (internal/cmem), so a
// plugin may hold its address without the collector moving or freeing it.
// A plugin owns a small pool of contexts, reused least recently used first,
// and each context has its own argument buffer for the strings of the call.
// Context memory is never given to another plugin, even after Close: a
// plugin that kept a context can reach nothing but its own stale state.
//
// Handles. The two trampolines (log and send_event) are created once per
// process: purego callbacks are never freed and stop at 2000. What a
// trampoline serves is found from _inner, an integer handle: the context's
// index in a process-wide table, shifted left, with the low bit set while
// the call that owns the context runs. A context whose low bit is clear is
// stale: log is dropped and counted, send_event returns DaemonError and is
// counted. _inner never holds a Go pointer.
//
// Checks. Arguments from C are checked before they are used: NULL, UTF-8,
// size bounds (MaxLogMessage, MaxMethod, MaxParams), and params_json must
// be a JSON object. send_event needs the network.relay capability. Every
// trampoline recovers a Go panic (on a plugin's own thread it would kill the
// process) and returns DaemonError. Calls back into the host from inside a
// sink nest on the C stack; past MaxDepth nested send_event calls on one
// thread the trampoline refuses with DaemonError instead of overflowing it.
//
// Log levels map 0 and 1 to Debug, 2 to Info, 3 to Warn, 4 to Error, and
// any other value to Warn with the raw level as a field. A line whose level
// the logger drops costs no string copy.
//
// Two builds, one behaviour: with cgo the trampolines are //export
// functions; without cgo they are purego callbacks.
package clawctx
