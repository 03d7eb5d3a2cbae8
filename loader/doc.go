// Package loader runs a plugin in this process, the "native" runtime: Open a
// ClawD ABI v1 library (or import the package and use clawd.Open) and call it
// through clawd.Plugin.
//
//	p, err := loader.Open("./libhello.so",
//		clawd.WithLogger(logger),
//		clawd.WithEventSink(clawd.SinkFunc(func(ctx context.Context, ev clawd.Event) error { ... })),
//		clawd.WithCapabilities(abi.CapNetworkRelay))
//	if err != nil { ... }          // a *clawerr.Error with a stable code
//	defer p.Close()                // on_unload once, then the library is closed (see Closing)
//	err = p.Call(ctx, clawd.ToolCall("s1", "grep", `{"pattern":"x"}`))
//
// Importing the package registers it with package clawd as
// clawd.RuntimeNative, so clawd.Open and package host find it by name.
//
// # Loading
//
// Open opens the library (dlopen through purego; on Windows LoadLibraryExW
// with the absolute path, never searching the current directory), calls
// clawd_plugin_init once, copies and checks the table and
// calls on_load. Each failure has its own code: open_failed, missing_init,
// init_null, abi_mismatch, reserved_slot_set, bad_name, bad_version,
// on_load_failed, and timeout for an on_load that does not return (see
// Timeouts). What breaks no rule of the ABI but is not right loads
// with a warning (Warnings, and the logger): a NULL name (the file's stem
// is used, as the reference daemon does), a NULL or non-semver version.
//
// On Linux the process's signal actions are saved before the library is
// opened and restored after init and on_load (and around on_unload and
// close): a plugin that installs its own SIGSEGV handler would otherwise
// break Go's nil-pointer panics and os/signal. A plugin that changed them
// gets a warning naming the signals. Other systems do not have this guard yet.
//
// # Calling
//
// SessionStart, SessionEnd, ToolCall and Message copy their strings into C
// memory owned by the call's context, NUL-terminated (a string holding a
// NUL is invalid_argument), and call the plugin. A callback the plugin left
// NULL is skipped and returns nil. A ClawaError comes back as a
// *clawerr.Error with code callback_error that also matches the abi.Code
// (errors.Is(err, abi.NotFound)); a value ABI v1 does not know is
// unknown_code, never success. The hot path allocates nothing.
//
// Calls into one plugin are serialized unless clawd.WithConcurrent(true); calls
// into different plugins run in parallel. A call made from inside the
// plugin's own send_event (the sink calling back into the same plugin, on
// the same thread) enters at once instead of waiting for the call that is
// blocked in send_event: it is re-entry, not a second caller.
//
// The context.Context of a call is checked before the call is made; an
// in-process call cannot be interrupted once the plugin runs. A plugin
// that crashes takes the process with it: that is the price of native
// speed. Run untrusted plugins in the process sandbox.
//
// # Closing
//
// Close refuses new calls (closed), waits for the calls in flight, calls
// on_unload once and closes the library, unless a thread of the plugin may
// still run in it (below). Contexts the plugin kept are stale from then
// on, and stay harmless. unloadState tells what became of the library:
// unmapped (gone from /proc/self/maps), stillMapped (closed, but the
// system keeps it) or keptMapped (left open on purpose).
//
// A thread the plugin started and did not stop in on_unload would run
// unmapped code once the library is closed: the host dies of SIGSEGV. So
// the loader takes a census of the process's threads before it opens the
// library and again after on_unload (on Linux, the threads listed in
// /proc/self/task less those Go's runtime started); if a native thread
// started since the open is still running (after a moment's grace for
// threads that are ending), the library is not closed and a warning names
// the plugin. A census cannot tell whose thread it is: a thread another
// plugin started meanwhile keeps this one mapped too. When in doubt the
// library stays mapped, for a leak is better than a crash; on systems
// where threads are not counted (all but Linux) Close never closes the
// library. The same holds when Open fails after the library was opened (a
// constructor, init or on_load may have started a thread). A library kept
// mapped stays for the life of the process. RTLD_NODELETE would pin every
// library like that, and hot reload would leak every copy; the census
// lets a plugin that stops its threads be unmapped.
//
// # Batches
//
// A batch (cgo builds; the host finds it through internal/batch) runs one
// call on several plugins in one call into C: the host's dispatch to many
// native plugins, which saves each plugin after the first the Go-to-C
// transition. Everything an ordinary call guarantees holds for each plugin
// in it: its own lock, taken in C just before its callback and given back
// once the run is timed (a plugin whose lock is taken is not called: the
// run stops before it, and the caller makes that call the ordinary way,
// waiting for the lock, then runs on); its own context, live only during
// its callback; its own copy of the strings, checked once for all (Begin:
// the checks of an ordinary call, and no NUL); the closed check under its
// lock (a plugin closed meanwhile also stops the run). A plugin with a
// sink (network.relay, forwarded hooks) or concurrent has no ticket: its
// sink could call back into another plugin the batch holds on the same
// thread. Without cgo there is no batch. Each callback is timed in C: the
// monotonic clock is read at the run's two ends and its span shared out
// by the ticks of the processor's time stamp counter read between
// callbacks (x86-64; elsewhere the clock is read between callbacks), so
// the durations keep the clock's resolution and add up to its span; each
// is counted in the plugin's cell, under its lock, where the host reads
// it (internal/batch.Measured).
//
// # The call in C
//
// A serialized plugin's state lives in a cell of C memory (package
// clawctx's Cell): its lock, its closed flag, the cursor of its ring of
// contexts and its argument buffer. With cgo, a plugin without a sink
// has each call made whole in one C shim (vtable.Serial): one atomic
// exchange takes the lock, the ring moves on, the strings are checked
// for a NUL and copied, the callback runs between the context's live and
// stale marks, and a release store gives the lock back. What the shim
// cannot do (a taken lock, a closed plugin, a buffer or a chunk of
// contexts to make, a NUL) it leaves to the Go side, which holds the lock
// it took or waits for it with the re-entry and deadlock rules of
// internal/reentry. A Go caller waiting for the lock sleeps until a
// release wakes it; a release in C reads the waiters after a plain store,
// and may miss one that came in the same instant, which then looks again
// within 200 us.
//
// # Timeouts
//
// on_load and on_unload run on a goroutine locked to its thread, and the
// loader waits for them at most WithLoadTimeout and WithUnloadTimeout
// (default 10 s). One that has not returned by then makes Open or Close
// return timeout, and its library stays mapped. A native call cannot be
// interrupted: the thread stays inside the plugin for as long as the
// plugin keeps it there, and if the callback ever returns, it only
// finishes. The plugin is unusable from then on: calls return closed, and
// after an on_load timeout there is no Plugin to call. Other plugins are
// not held up. A negative timeout sets no bound and runs the callback on
// the caller's thread, as before: for a caller to which the thread
// matters and that bounds the whole process from outside, such as the
// sandbox child (its parent kills it), whose send_event path tells a
// callback's events from those of the plugin's own threads by thread.
package loader
