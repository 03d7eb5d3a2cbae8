// Package clawd opens a ClawD plugin and calls it, whatever runs it: Open a
// plugin by runtime name, make calls with Plugin.Call, receive the events it
// sends through a Sink, and grant it capabilities and hooks with options. It
// also holds the registry of runtimes that open plugins.
//
// A plugin speaks the ClawD plugin C ABI v1 (package abi). A runtime opens
// it and hands back a Plugin:
//
//   - "native" (package loader): the library in this process, the fastest
//     and the least safe: a crash in the plugin is a crash of the host;
//   - "process" (package isolate): the library in a sandboxed child
//     process; a crash, hang or hostile act is contained and reported;
//   - "wasm" (package wasm): the plugin built as a WebAssembly module, run
//     in this process with no access to its memory, files only as granted,
//     a memory cap and deadlines; a trap fails its call only.
//
// Programs that run many plugins use package host, which reads each
// plugin's manifest, picks its runtime through this package's registry and
// never names a runtime's concrete type. A program that runs one plugin may
// call a runtime's Open directly, or Open here by runtime name.
//
// # Calls
//
// Every event reaches a plugin through Plugin.Call with a Call value that
// names the callback and carries its string arguments:
//
//	err := p.Call(ctx, clawd.ToolCall("s1", "grep", `{"pattern":"TODO"}`))
//
// A callback the plugin did not set is skipped (nil error). A failing
// callback returns a *clawerr.Error with code callback_error that also
// matches the abi.Code the plugin returned (errors.Is(err, abi.NotFound)),
// or unknown_code for a value ABI v1 does not define. The context's
// deadline and cancellation bound the call where the runtime can enforce
// them (the process sandbox kills a child that overruns; a native call
// cannot be interrupted and is only refused before it starts), and the
// same context reaches the Sink of every event the plugin sends during the
// call.
//
// # Events
//
// A plugin's send_event reaches the Sink given with WithEventSink, on the
// thread that sent it. The sink's answer is what send_event returns to the
// plugin: nil is CLAWA_ERROR_NONE, an abi.Code is that code, any other
// error is DaemonError. Without the network.relay capability the runtime
// refuses the event with CapabilityDenied before any sink sees it. A sink
// may call back into the host, including into the plugin that is sending.
//
// # Options
//
// The options every runtime takes (logger, sink, capabilities, directories,
// timeouts) are defined once, here. A runtime's own options (such as
// isolate.WithRestart) are clawd.Options too, so one list can be handed to
// whichever runtime a manifest names; a runtime ignores the options of
// another.
//
// # Optional interfaces
//
// What only some runtimes have is found by type assertion, as
// database/sql/driver does: Contained (what the operating system enforces
// on the plugin), Supervised (a child process that is restarted after a
// crash) and Hooker (verdicts, below).
//
// # Hooks
//
// During on_tool_call or on_message, on the thread that runs the callback
// and before it returns, a plugin may decide on the event by sending one of
// two events:
//
//	send_event(ctx, "hook.block", "{\"reason\":\"...\"}")
//	send_event(ctx, "hook.intercept", "{\"input\":{...}}")   // on_tool_call
//	send_event(ctx, "hook.intercept", "{\"content\":...}")   // on_message
//
// Sending neither is Continue; of several, the last one taken counts.
// send_event returns CLAWA_ERROR_NONE when the verdict is taken, and
// NotFound in a call not made through Hooker.Hook, in any other callback,
// from another thread, for a hook point not granted (WithHooks), on a
// context whose callback returned (also counted in Stats.StaleEvents), and
// from a call that the host's sink made back into the plugin while the Hook
// call waits (the outer call's verdict stands). An invalid payload (not a JSON object
// with the right key, a reason that is not a string, larger than 1 MiB) is
// refused with DaemonError and counted (Stats.HookInvalid and InvalidArgs).
// Every method that starts with "hook." is the host's: none reaches the
// Sink, none needs network.relay, and they are counted apart from events
// (Stats.HookVerdicts, HookRefused). The callback's non-zero return stays
// an error, never a Block. A host that does not know hooks answers them
// like any other event, so a plugin that uses them loads everywhere.
// Package host combines the verdicts of many plugins.
package clawd
