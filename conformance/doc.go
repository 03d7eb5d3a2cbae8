// Package conformance checks a plugin against the ClawD ABI v1: Run it (or
// RunT in a test) on a library or a plugin directory to learn exactly what in
// it breaks the ABI, or will misbehave in some host, before a user finds out.
// The loader is lenient (it refuses only what it cannot use safely); this
// suite is strict.
//
// # Running it
//
// From the command line, for any language:
//
//	clawd-plugin check build/libmyplugin.so
//	clawd-plugin check --json --junit report.xml plugins/myplugin/
//
// From Go, for example in a plugin's own tests:
//
//	func TestMain(m *testing.M) {
//		isolate.Main() // first thing: the suite re-executes this binary
//		os.Exit(m.Run())
//	}
//
//	func TestConformance(t *testing.T) {
//		conformance.RunT(t, "build/libmyplugin.so") // fails t for each failed check
//	}
//
// Run returns a Report; its JSON form is the core of check --json (docs/cli.md): {"ok":bool,"checks":[{"id":…,"status":…,"message":…}]}.
// Given a directory, Run loads its manifest (plugin.toml or
// clawd-plugin.json), checks it, and checks its entry as the library.
//
// # WebAssembly modules
//
// A .wasm (or a directory whose manifest says runtime = "wasm") is checked
// through the wasm runtime, behind the same clawd.Plugin interface as a
// library, so the behaviour checks are the same code. The table checks
// (export.init, init.*, strings.*) are judged from the codes the wasm
// runtime's load gives (missing_init, init_null, abi_mismatch, ...). A
// trap or a deadline is contained there (the call returns crashed or
// timeout instead of ending the child), and fails the check whose call
// caused it ("crashed in on_tool_call (1 MiB JSON): ..."). The checks that
// cannot apply to a guest, which sees no process state, has no threads
// and no stdout of the host's, are reported skip with the reason:
// export.namespace, init.idempotent, lifecycle.threads, hygiene.signals,
// hygiene.cwd_env_umask and hygiene.stdout.
//
// # One process per check
//
// Like clap-validator and pluginval, every check runs in a child process of
// its own (the running program re-executed; internal/child), with a
// timeout: a plugin that segfaults in on_tool_call fails the checks that
// call on_tool_call with a message starting "crashed: SIGSEGV", and every
// other check still runs and reports. A check that does not finish in time
// fails with "timeout:". A crash or a timeout fails a check whatever its
// severity. The child reports over a dedicated pipe, never stdout, so the
// parent can judge what the plugin wrote there (hygiene.stdout). Checks run
// in parallel, GOMAXPROCS at a time (WithConcurrency).
//
// This is why a program that calls Run must call isolate.Main before anything
// else: in a child, isolate.Main runs the one check it was started for and
// exits. In a test binary the children also get -test.run=^$, so a
// TestMain that forgot isolate.Main runs no tests twice; the checks then fail
// with a message that says what is missing.
//
// # A broken plugin fails its root cause, not everything
//
// A first child, the probe, walks the plugin up the stages a host goes
// through: dlopen, dlsym clawd_plugin_init, init returns a table,
// abi_version is 1, the table passes the loader's validation, on_load
// succeeds. Each check needs a stage; when the probe stopped before it, the
// check is skipped with "plugin does not load: CODE" (a clawerr code such
// as abi_mismatch, or crashed/timeout), and only the check that owns the
// failing stage fails. So bad_abi fails init.abi_version alone, and a
// plugin whose on_load crashes fails lifecycle.on_load alone.
//
// Skip otherwise means "does not apply": a callback the plugin does not
// set, no manifest, a manifest without concurrent = true, a platform where
// the thing cannot be observed (signal actions and threads are read on
// Linux; exports are listed for ELF, Mach-O and PE). The suite needs no tools
// beyond the running program.
//
// # The checks
//
// Statuses are pass, fail, warn and skip; a report is OK when nothing
// failed. Each check has a stable id, a one-line description and a
// severity: the status a violation gets (fail, or warn for the checks that
// are advice). A few checks use the other status for a lesser finding
// (manifest.signature warns when no key was given to verify with).
//
//	export.init               fail  the library opens; clawd_plugin_init is exported (default visibility, C linkage)
//	export.namespace          warn  no other function is exported
//	init.non_null             fail  init returns a table
//	init.idempotent           fail  a second init returns the same table
//	init.abi_version          fail  abi_version is 1
//	init.reserved             fail  the 8 reserved slots are NULL
//	strings.name              fail  name set, UTF-8, 1 to 128 bytes
//	strings.version           fail  version set, Semantic Versioning 2.0
//	strings.manifest_name     fail  name equals the manifest's
//	strings.manifest_version  warn  version equals the manifest's
//	lifecycle.on_load         fail  on_load returns 0
//	lifecycle.unload_once     fail  no context used after on_unload
//	lifecycle.reopen          fail  open, close, open again works
//	lifecycle.threads         warn  no plugin thread left after close
//	callbacks.empty_strings   fail  survives "" ids and names, and "" as JSON
//	callbacks.large_input     fail  survives 1 MiB of JSON
//	callbacks.utf8            fail  survives multi-byte UTF-8 everywhere
//	callbacks.deep_json       fail  survives JSON nested 10000 deep
//	callbacks.codes           fail  returns only ClawaError 0 to 5
//	context.stale             fail  no context used after its callback returned
//	context.log_levels        fail  log levels 0 to 4, non-NULL UTF-8 messages
//	context.params_object     fail  send_event: a method and a JSON object
//	context.relay             fail  no send_event without network.relay in the manifest
//	hygiene.signals           fail  dlopen, init and on_load leave signal actions alone
//	hygiene.cwd_env_umask     fail  working directory, environment and umask left alone
//	hygiene.stdout            fail  nothing written to stdout
//	concurrency.threads       fail  concurrent = true survives calls from 4 threads
//	timing.load               warn  open + on_load under 100 ms
//	timing.callbacks          warn  each event callback under 10 ms on a small input
//	manifest.valid            fail  the manifest parses and validates
//	manifest.entry            fail  its entry exists
//	manifest.signature        fail  signature and sha256 pin verify
//
// # How the behaviour checks observe a plugin
//
// The checks that need a loaded plugin open it through package loader, as
// a host would: the manifest's capabilities and concurrency, and a sink
// that accepts every event. Without a manifest, network.relay is granted,
// so that code that sends events runs (context.relay then does not apply).
// They send a short ordinary session (session start, a tool call, a user
// and an assistant message, session end) and read what the loader counts
// (clawd.Plugin.Stats): a stale log or send_event is a use of a context
// after its callback returned; with relay granted and a sink that accepts
// everything, a refused event was refused for its arguments. context.stale
// waits 10 ms after each call and, at the end, until the threads the
// plugin started have ended (up to half a second; 50 ms where threads
// cannot be counted); the loader rotates calls through several contexts,
// so a kept one stays stale meanwhile. lifecycle.unload_once lets late
// uses land the same way, then counts only what happens after Close.
//
// hygiene.signals opens the library without the loader's signal guard and
// compares every signal action (read with rt_sigaction) before and after
// dlopen, init and on_load; it names handlers installed without SA_ONSTACK,
// which abort a Go host. hygiene.cwd_env_umask compares libc's environ (a
// plugin's setenv never reaches Go's copy), the working directory and the
// umask. hygiene.stdout flushes C's stdio before the child exits, so a
// buffered printf is seen too. lifecycle.threads counts the threads the Go
// runtime does not own (/proc/self/task minus /sched/threads/total) before
// open and, for up to half a second, after close.
//
// The timing checks take the fastest of several measurements (a second open
// when the first is over budget, five calls of each callback), so a busy
// machine does not make a fast plugin warn; they only warn.
package conformance
