// Package wasm is the "wasm" runtime: a ClawD plugin built as a
// WebAssembly module, run in this process by wazero (pure Go, no cgo), so
// that one .wasm runs the same on every OS the host builds for and sees
// nothing of the host but what it is granted.
//
// # Building a plugin
//
// The same C source that builds a shared library builds a module, with
// include/clawd_plugin_wasm.c linked beside it:
//
//	zig cc -target wasm32-wasi -mexec-model=reactor -O2 -I include \
//	    plugin.c include/clawd_plugin_wasm.c -Wl,-z,stack-size=65536 -o plugin.wasm
//
// A reactor module (not a command: a module that exports _start and no
// _initialize is refused). The small stack keeps the initial memory at 2
// pages: zig's default 1 MiB stack makes it 257 pages (16 MiB), which every
// instantiation pays for (milliseconds instead of tens of microseconds).
//
// # The mapping
//
// On wasm32 pointers are 4 bytes: ClawaPlugin is 68 bytes (on_tool_call at
// 28), ClawaContext 44 (send_event at 4, log at 8); include's layout
// tests check the whole column. clawd_plugin_init returns the table's address in linear memory;
// each callback is an index into the module's function table. Open
// resolves every slot once, checking its signature, so a slot of the wrong
// type is a load error naming it (abi_mismatch).
//
// clawd_plugin_wasm.c imports the host's two functions from the module
// "clawd" (log, send_event), exports a context template holding their
// table indices (clawd_wasm_context), and exports the guest's allocator to
// the host (clawd_wasm_alloc, clawd_wasm_free). The host places each
// call's strings in guest memory it got from that allocator, one buffer per
// nesting depth, reused and grown as needed: the host never writes memory
// the plugin's malloc owns. Contexts come from a ring of 1024, allocated
// at load, so a context kept past its callback is stale (its log dropped,
// its send_event DaemonError, both counted) for at least 1024 calls.
//
// # Loading
//
// Open checks the file (a WebAssembly binary, version 1) and pre-scans it
// (internal/wasmscan) before anything compiles it: every cost of a module
// is bounded before it is paid. The pre-scan reads the binary with bounds
// (every count checked against the bytes left, so a 15-byte module cannot
// make the decoder allocate gigabytes) and walks each function body, and
// refuses with open_failed, naming the limit, its value and its bound, a
// module with more than 100,000 functions, 16 MiB of code, a body over
// 1 MiB, 8,192 branches (block, loop, if, else, br, br_if, br_table
// targets) in a body or 2^26 for the sum of their squares (wazero's
// compile time grows with their square), nesting deeper than 2,048,
// 50,000 locals in a function or 4 Mi in all, 1 Mi element entries or
// 64 MiB of data (wasmscan.DefaultLimits; a plugin built by zig or clang
// is far below: the examples have under 130 functions and 709 branches
// in their largest body). Tables count against the memory cap: a table
// counts at 16 bytes an element (what wazero may spend on one), at its declared maximum if
// the module uses table.grow (a grown table without a maximum is refused)
// and at its initial size otherwise; tables and the initial memory over
// the cap are refused, and the linear memory gets the cap less the
// tables. It then compiles the module (through the on-disk cache:
// WithCacheDir, by default clawd/wasm under os.UserCacheDir) under the
// load timeout: wazero's compile cannot be interrupted, so it runs on a
// goroutine of its own and is abandoned at the deadline (timeout); at
// most max(2, GOMAXPROCS)
// compiles run at once in the process, an abandoned one holding its place
// until it ends, so abandoned compiles cannot pile up. It refuses a
// module in the reference daemon's WASM shape (env.clawd_log and
// env.clawd_send_event imports, named exports, a status from
// clawd_plugin_init) with runtime_unsupported, saying what it lacks. It
// then instantiates the module (_initialize), calls clawd_plugin_init and
// reads the table with the native loader's checks and codes: open_failed
// (not a module, not instantiable, clawd_plugin_wasm.c not linked),
// missing_init, init_null, abi_mismatch, reserved_slot_set, bad_name and
// bad_version (a string is read with its 256-byte bound inside linear
// memory: a pointer outside it is the same error), on_load_failed. A NULL
// name loads as the file stem, with a warning. A trap in init or on_load
// is crashed; a load past WithLoadTimeout is timeout (the compile and the
// first instance's load share one deadline; a constructor, init or
// on_load that spins or sleeps for ever ends there).
//
// # Calls
//
// Calls into one instance are serialized. A plugin opened with
// clawd.WithConcurrent (the manifest's concurrent = true) gets a pool of
// instances instead of one: at most WithPoolSize of them (default
// GOMAXPROCS), made when calls first need them (one is made at Open),
// each with its own linear memory and guest state, so calls in different
// instances run in parallel; a call that finds every
// instance busy waits for one, or for its context. A sink may call back
// into the plugin that is sending, which nests on the sending instance. A callback's result maps as in every runtime
// (callback_error, unknown_code; invalid_argument for a NUL byte; closed).
// A call runs until its context's deadline (or clawd.WithCallTimeout's, if
// earlier): past it the call returns timeout within milliseconds, and a
// cancellation returns unavailable. That holds wherever the guest is: in
// its own code, or blocked in a WASI sleep (sleep, nanosleep, poll with a
// timeout: poll_oneoff's clock subscriptions), which waits on the call's
// context and ends the call at its deadline, even with WithDeadlines(false). A trap (unreachable, an out-of-bounds
// access, a call through a bad table entry, recursion past wazero's call
// stack) returns
// crashed with the trap's message and the callback's name; so does the
// guest's exit, with its status. After any of these the instance is
// discarded and made again (_initialize, clawd_plugin_init, on_load): the
// guest's state is lost, and the next call runs in the fresh instance. In
// a pool only the instance that faulted is discarded; the others serve on
// with their state. If making it again fails the plugin is failed
// (State), and its calls are unavailable. Close calls on_unload in every
// instance that was made.
//
// # Isolation
//
// The guest sees its own linear memory only. Its memory is capped
// (WithMemoryLimitMB, the manifest's memory_limit_mb; default 256 MiB): a
// memory.grow past the cap fails in the guest, whose malloc returns NULL.
// Its tables count against the same cap (see Loading): a table.grow past
// a table's declared maximum fails in the guest (-1).
//
// On Unix an instance's linear memory is reserved once at its maximum
// (address space only, outside the Go heap) and committed as the guest
// grows it, in place: memory.grow never copies (BenchmarkMemoryGrow: 192
// MiB in 64 MiB steps costs a few thousandths of a memset of 192 MiB; the
// guest then pays the page faults of what it touches), and an idle plugin
// costs what its guest uses whatever its cap. The host's memory for one
// instance is what its guest grew. Elsewhere memory is a Go slice, as
// wazero makes it: within 2.5 times the cap per instance (a quarter of
// spare capacity, and the old array until the collector frees it). Either
// way, times the pool's size for a concurrent plugin, besides the
// compiled code, which the pre-scan bounds.
// Its file system is empty unless granted: fs.read mounts the project
// directory (clawd.WithProjectDir) read-only at "/", fs.write read-write;
// the guest sees the WASI errors otherwise. Every path resolves beneath
// the project directory in one step, through an os.Root (no check, then
// open, for a concurrent rename to split): a symlink leading out of it,
// an absolute or a dangling one, or ".." above it is EPERM; the guest
// cannot make symlinks, and an open file or directory is used by its
// descriptor, never opened again by name. It has no sockets: events
// leave only through send_event, which needs network.relay
// (CapabilityDenied without it). Its stdout and stderr become log lines of
// the plugin (info and warn, with the field stream), never the host's
// output. Clocks and randomness are the host's real ones, through WASI.
//
// Everything the guest hands the host is read with bounds: a pointer or
// length outside linear memory is an error the host reports, never a read
// outside it. Levels map as in every runtime and never above Error.
//
// # Cost
//
// With deadlines on (the default), the module is instrumented before it
// compiles (internal/wasminterrupt; the compilation cache keeps the
// instrumented module): two globals and an empty table of the host's are
// appended (no index of the module moves; it cannot name them, and a
// module exporting their names, clawd.interrupt and clawd.countdown, or
// clawd.start, is refused), and every function entry and loop head gets a
// check: a loop's head traps if the flag is set; a function's entry
// decrements the countdown and, when it runs out (every 4,096 entries, or
// at once when the host zeroes it), traps if the flag is set; and every
// 4,096 entries or iterations of a loop (a local countdown) the check
// grows the empty table by nothing, a trip into Go where a garbage
// collection can stop the guest (compiled code is never preempted). An instruction the rewriter
// does not know (outside core 2.0, sign extension, saturating
// conversions, bulk memory, multi-value, reference types, SIMD) is
// refused by name. A module's start section becomes an export the host
// calls, like _initialize, once the load's deadline is armed. One
// watchdog goroutine for the process holds the deadlines of every call in
// flight in a heap, with one timer: at a call's deadline it sets that
// instance's flag and zeroes its countdown, and the call returns timeout
// at the guest's next check (a trap in the guest while its flag is set is
// the deadline's). A call's registration is preallocated with its slot:
// a call allocates nothing. A context that can be canceled is looked at
// every 2 ms while its call runs. The checks cost a load, a countdown in a
// register and two branches per loop iteration: BenchmarkWasmGuestLoop, a
// guest reading 10 KiB byte by byte, measures 1.3 to 1.6 times the same
// call with WithDeadlines(false), which compiles the module as it is, for
// plugins that are trusted not to hang. BenchmarkRuntimeRatio in package clawd
// compares both with the native and the process runtimes.
package wasm
