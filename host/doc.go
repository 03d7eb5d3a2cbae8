// Package host runs many ClawD plugins for a program: give it plugin
// directories, Load them, and send each event to all of them with Call (or
// Hook, for a verdict). It checks and loads each plugin, keeps a registry of
// their states and counters, and replaces a plugin whose files change while
// the others, and the plugin itself, keep serving.
//
//	h, err := host.New(
//		host.WithPluginOptions(
//			clawd.WithLogger(logger),                // the host's lines and the plugins'
//			clawd.WithEventSink(sink)),              // events of every plugin
//		host.WithPluginDirs(userDir, projectDir),        // project overrides user
//		host.WithTrust(manifest.Trust{Keys: keys, Policy: manifest.PolicyWarn}),
//		host.WithWatch(true))                            // hot reload
//	if err != nil { ... }
//	defer h.Close()
//	if err := h.Load(ctx); err != nil {
//		log.Print(err) // the plugins that failed; the others are running
//	}
//	for _, o := range h.Call(ctx, clawd.ToolCall("s1", "grep", `{"pattern":"x"}`)) {
//		fmt.Println(o.Plugin, o.Version, o.Err, o.Duration)
//	}
//
// # Discovery and precedence
//
// Each plugin directory (WithPluginDirs) holds one subdirectory per plugin
// with a plugin.toml or a clawd-plugin.json (package manifest). A plugin is
// known by its manifest's name. When two directories hold the same name, the
// later directory wins (user directory, then project directory: the project
// overrides); within one directory the subdirectory that sorts first wins.
// The loser is not loaded and the winner carries a warning naming it. Add
// loads a directory explicitly; an added plugin beats a discovered one.
//
// Plugins installed with package install are verified against the lock
// file of their directory when the host is given it (WithLockFile): a
// plugin whose files no longer match is refused (checksum_mismatch), and
// none is granted a capability the lock does not record. The installer's
// own directory (.clawd) holds no manifest and is never a plugin.
//
// # Lifecycle
//
// Every plugin has one row in the registry (Plugins), in one of these states:
//
//	none ──► resolved ──► loaded ──► active ──► stopped
//	  │          │                    ↺ reload (active to active)
//	  └──────────┴──► failed
//
// A plugin that failed or stopped goes back to resolved when it is tried
// again (by Load, Reload, Add or a change on disk).
//
// resolved: the manifest was read. loaded: the library was verified (the
// sha256 pin and the Ed25519 signature under the trust policy), copied to a
// unique private path, opened from that copy, and its on_load succeeded.
// active: it receives dispatches. failed: one of those steps failed; Reason
// is the *clawerr.Error with its stable code (manifest_invalid,
// signature_invalid, abi_mismatch, on_load_failed, ...). A manifest that
// cannot be read names its row after the directory. stopped: the plugin was
// closed (its directory vanished, or Close) after its on_unload ran. One
// plugin failing never keeps another from loading; Load retries the ones
// that failed.
//
// Capabilities are granted per plugin: each one its manifest asks for is
// granted unless the host's policy (WithCapabilityPolicy) refuses it. A
// refused capability is logged and listed in PluginInfo.Refused; the plugin
// loads without it (without network.relay its send_event returns
// CapabilityDenied).
//
// Subscribe shows every transition, in order, to each subscriber through its
// own unbounded queue: publishing never blocks the host and nothing is
// dropped (transitions are rare; a subscriber that stops reading should
// cancel).
//
// # Dispatch
//
// Call (with clawd.SessionStart, SessionEnd, ToolCall or Message) goes to
// every active plugin that set the callback, and returns one Outcome per plugin called, sorted by
// plugin name, each with the version of the instance that took the call, its
// error (a *clawerr.Error: a failing plugin fails only its own outcome) and
// its duration. Different plugins may run in parallel: a plugin whose last
// two calls were slow (WithParallelThreshold, 50 us by default) is called on a
// goroutine of its own, while quick ones are called one after the other on
// the dispatching goroutine, where a goroutine would cost more than the
// call. A dispatch returns when every call has returned, so dispatches made
// one after the other reach each plugin in that order. A sink may dispatch again from inside a
// plugin's send_event: such a nested dispatch runs on the calling thread, so
// it re-enters that plugin instead of waiting for itself. Calls into one
// plugin are still serialized; two sinks that dispatch at the same time
// from inside two plugins, each into the other, would wait for each other
// forever: the later of the two waits is refused instead (its outcome is
// unavailable, naming the cycle, and the plugin whose sink
// made it sees its send_event return what the sink returns), and the other
// goes on once it unwinds.
//
// DispatchInto is the same dispatch for any clawd.Call, appending the
// outcomes to a slice the caller passes (back): with room in it, a dispatch
// to quick plugins allocates nothing. The per-op methods are its
// allocating convenience forms.
//
// With cgo, the native plugins of a dispatch are called in batches
// (the native runtime's, found through internal/batch): one call into C
// stages the strings once, checks them for a NUL once, and runs the
// callbacks in the host's order, each plugin with
// its own copy of the strings, its own context and its own lock, timed in
// C. A plugin a batch does not take — busy (its lock held by another
// call), concurrent, granted network.relay (its sink could dispatch back
// into a plugin the batch holds), slow last time, or in another runtime —
// is called the ordinary way after the batch so far has run, so the order
// of calls is always the host's. A batch checks the context.Context once,
// before its first callback; only a plugin whose last call was quicker than
// the fan-out threshold goes into a batch, so a batch is quick calls only.
//
// Counting a call costs a few atomic adds and never allocates: calls, errors
// by code, latency (total, max and a histogram by decade). Stats also carry
// what the plugin did through its contexts (events sent and refused, stale
// context uses), summed over all its instances across reloads.
//
// # Hot reload
//
// With WithWatch(true) the host watches (fsnotify) the plugin directories,
// each plugin's directory and the added ones. A change to a manifest or to a
// library an entry names waits for the files to be quiet for the debounce
// time (WithDebounce), then the plugin is reloaded; Reload does the same at
// once. The protocol:
//
//  1. Read the manifest again and verify the library into a NEW unique copy
//     (the dynamic loader caches by path: a new path cannot return the old
//     mapping, and the bytes verified are the bytes opened).
//  2. Open that copy; its on_load runs. The old instance serves meanwhile.
//  3. If any step failed, delete the new copy and stop here: the old
//     instance keeps serving, the state stays active, the failure goes to
//     the log, to PluginInfo.Reason and to subscribers (a Transition from
//     active to active with Reload and Reason set).
//  4. Swap the entry's current instance pointer atomically: from now on
//     every dispatch picks the new one.
//  5. Drain the old one: every instance counts the dispatches holding it,
//     plus one for being current. A dispatch takes its reference before it
//     calls (and checks that the instance is still current, else retries),
//     so after the swap only calls already running hold the old one; when
//     the count reaches zero no one can take it again.
//  6. Close it (on_unload, then the library is closed) and delete its copy,
//     then report the transition (active to active, Reload, the new
//     Version).
//
// No dispatch fails because of a reload and each call reaches exactly one
// version. A new directory appearing is loaded; a plugin whose directory is
// removed is stopped (drained, on_unload, closed).
//
// Because lifecycle work waits for the calls in flight, Load, Add, Reload and
// Close called from inside an event sink return invalid_argument at once
// (the sink may hand the work to another goroutine, which then waits for
// the dispatch to return).
//
// # Native means trusted
//
// A plugin runs in this process (the "native" runtime) unless its manifest
// says sandbox = "process" or the host was made WithSandbox: a native plugin
// that crashes takes the host down. A sandboxed one runs in a child process
// (package isolate, the "process" runtime): its crash, hang or hostile act
// fails its own calls only, and the host restarts it. A plugin whose manifest
// says runtime = "wasm" runs in package wasm (the "wasm" runtime, reported
// as sandbox "wasm" whatever the manifest's sandbox says): a WebAssembly
// guest in this process that sees no host memory and no file but what
// fs.read/fs.write grant; a trap or a deadline fails its call and the
// instance is made again. The host opens each through package clawd's
// registry and knows it only as a clawd.Plugin.
//
// # Hooks
//
// A plugin whose manifest asks for hooks (hooks = ["tool_call",
// "message"]) and whose host's hook policy grants them may give a verdict
// on each tool call or message it sees (see clawd.Hooker for the
// convention). Hook, with a clawd.ToolCall or a clawd.Message, runs the
// plugins that have the
// callback one after the other in name order, the host's stable order,
// and combine their verdicts into one:
//
//   - Continue: no plugin objected; the input (content) is the caller's.
//   - Intercept: a plugin rewrote the input (content); every later plugin
//     and the caller see the rewritten one. Of several, the last one to
//     rewrite is Verdict.Plugin.
//   - Block: a plugin blocked the event; it is the first to do so, and the
//     plugins after it are not called (their outcomes say Skipped).
//
// A plugin without a granted hook, or whose runtime takes no verdicts
// (no clawd.Hooker), is called as by ToolCall and Message, with the input
// as rewritten so far, and always continues. A hook that fails (an error
// from its callback, a crash, a call past the context's deadline) is
// handled by the failure policy (WithHookFailure): by default it is
// reported in its outcome and does not block (fail-open); with
// FailClosed it blocks, with the error as the reason. Hooks run with the
// context's deadline, never a silent Continue past it.
package host
