// Package clawctx is the host side of ClawaContext: the struct the host
// passes to every callback, whose log and send_event lead back into Go.
//
// Memory. Each context lives outside the Go heap (internal/cmem), so a
// plugin may hold its address without the collector moving or freeing it.
// Contexts are made 64 at a time, in chunks of contiguous C memory that
// each belong to one plugin. Context memory is never freed or given to
// another plugin, even after Close: a plugin that kept a context can reach
// nothing but its own stale state.
//
// Quarantine. A plugin that wrongly keeps a context and uses it later is
// refused only while that memory is not live for a later call, and nothing
// but the address tells a kept context from the live one that a worker
// thread of the running call may use. So a plugin's contexts come back
// rarely: each of its two rings hands a context out again only once in
// 4096 calls. The serial ring (AcquireSerial, for the calls the caller
// serializes) has 4096 contexts and hands them out in turn. The pool
// (Acquire, for concurrent plugins and for calls that re-enter a
// serialized plugin) keeps released contexts in a FIFO and reuses the
// oldest only once 4095 others were released after it; otherwise it hands
// out a context never used before. A late use at a random moment of
// back-to-back calls thus finds its context live at most once in 4096
// (about 0.024%). There is no time quarantine: under continuous calls it
// would not change that rate.
//
// Cost. Both rings are filled as calls come: a chunk is made only when a
// ring moves past its last one, so a plugin that makes few calls has one
// chunk per ring in use (5.5 KiB of C memory and 1 KiB of Go memory each).
// A busy plugin has at most 4096 contexts in its serial ring and 4096 plus
// the most calls it ever ran at once in its pool: 352 KiB of C memory and
// 66 KiB of Go memory per full ring, and the pool's FIFO of 16 bytes per
// released context. Argument buffers are apart from contexts: one for the
// serial ring, one per concurrent call in the pool, each kept up to 64 KiB
// between calls. Each plugin also has a cell (Cell, about 1 KiB of C
// memory, never freed like the contexts): its serialization lock, the
// serial ring's cursor and argument buffer, and what batches measured,
// which the call shims of package vtable read and write in C.
//
// Handles. The two trampolines (log and send_event) are created once per
// process: purego callbacks are never freed and stop at 2000. What a
// trampoline serves is found from _inner, an integer handle: the context's
// index in a process-wide table of chunks, shifted left, with the low bit
// set while the call that was handed the context runs. A handle counts
// only if it names the context at the very address the trampoline was
// called with; anything else (NULL, a copy elsewhere, garbage) is not a
// context the host made and is counted process-wide. A context whose low
// bit is clear is stale: log is dropped and counted, send_event returns
// DaemonError and is counted, both for the plugin that owns the chunk.
// _inner never holds a Go pointer.
//
// Checks. Arguments from C are checked before they are used: NULL, UTF-8,
// size bounds (boundary.MaxLogMessage, MaxMethod, MaxParams), and params_json must
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
