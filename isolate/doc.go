// Package isolate runs a plugin in a sandboxed child process, the "process"
// runtime: Open a plugin (or import the package and use clawd.Open), and call
// isolate.Main first thing in main. A plugin that crashes, hangs or
// misbehaves cannot take the host with it, and the operating system enforces
// what its manifest was granted.
//
// A native plugin (package loader) runs in the host's process: a NULL
// dereference in it kills the host, an endless loop blocks the caller, and
// it can read any file the host can. Here the plugin runs in a child:
//
//	func main() {
//		isolate.Main() // first thing: this program also serves as the child
//		...
//		p, err := isolate.Open("plugins/grep/libgrep.so",
//			clawd.WithLogger(logger),
//			clawd.WithEventSink(sink),
//			clawd.WithCapabilities(abi.CapNetworkRelay, abi.CapFSRead),
//			clawd.WithProjectDir(projectDir),
//			clawd.WithCallTimeout(5*time.Second),
//			isolate.WithRestart(3, 100*time.Millisecond, 5*time.Second))
//		if err != nil { ... }            // abi_mismatch, on_load_failed, crashed, ...
//		defer p.Close()
//		err = p.Call(ctx, clawd.ToolCall("s1", "grep", `{"pattern":"x"}`))
//	}
//
// The child is this program run again (Main, called first in main, makes
// it serve and never return), or any program that calls Main, such as the
// clawd-plugin command (WithExecutable). Package host does all this for a
// plugin whose manifest says sandbox = "process".
//
// # The channel
//
// Host and child talk over two pairs of pipes the child inherits (file
// descriptors 3-6 on Unix, handles named in its arguments on Windows),
// never its stdout: a plugin may print anything. The call channel carries each
// call, whatever the plugin logs or sends from inside it, on the thread
// that serves it, and the result, in that order; the async channel carries
// what the plugin's own threads log or send. Frames are length-prefixed
// binary in reused buffers, and reads block in the kernel rather than go
// through the netpoller: a ToolCall round trip allocates nothing and costs
// about what a bare pipe round trip between the same two processes costs
// (make bench measures both in one run).
//
// send_event from the plugin reaches the host's sink, and the sink's answer
// is what send_event returns, as in process; the sink may call back into
// the same plugin. Log lines reach the host's logger with the plugin's name
// and version. Lines logged from the plugin's own threads travel on the
// async channel and may reach the logger just after the call returns.
//
// # Failures
//
// A call whose child dies returns crashed, with the signal or the exit
// status and the last lines the child wrote to stderr (the Go runtime's
// report of a fault in C code keeps its header, not its goroutine dump).
// The plugin is then down: calls return unavailable at once, without
// waiting, while the child is started again after 100ms, then twice as
// long each time (WithRestart); after five failures in a row it is given up
// (StateFailed). A call that succeeds resets the count. WithStateFunc
// reports each change; package host marks the plugin failed while it is
// down and active when it is back.
//
// The host learns of the child's death from the process (waitid on
// Linux), not from its pipes closing: a descendant of the plugin may hold
// them open. It then writes a wake-up frame into its own copy of the
// child's write ends, which ends a read blocked in the kernel; the same
// frame from a child that still runs is a protocol violation.
//
// A call past its deadline (the context's, or WithCallTimeout, which host
// takes from the manifest's call_timeout_ms) kills the child and returns
// timeout; so does a cancelled context. The next call finds the plugin down
// and restarting.
//
// # Containment
//
// On Linux the child, before it loads the plugin (package
// internal/contain):
//
//   - dies with the host (PR_SET_PDEATHSIG, plus a check that its parent is
//     still the process that started it) and runs in a process group of its
//     own, killed as a whole;
//   - has no_new_privs, no core dumps, and limits on address space and CPU
//     time (WithLimits; the Go runtime alone reserves about 1.5 GiB of
//     address space);
//   - is the init of a PID namespace of its own: when it exits, crashes,
//     is killed for a timeout or by Close, or dies with the host, the
//     kernel kills everything the plugin started, setsid daemons and
//     grandchildren included (where the kernel refuses a namespace, the
//     child is a subreaper and only its process group is killed; the
//     Containment says which applied);
//   - with everything it starts, is in a pids cgroup made for it where the
//     host may make one (cgroup v2 with pids enabled, else a writable v1
//     pids hierarchy; detected at run time): the plugin may create
//     WithMaxProcesses processes and threads (default 64), also under a
//     root host, and a fork past that fails with EAGAIN. The cgroup counts
//     the child's own Go runtime and protocol threads too (about 10), so
//     its pids.max is the bound plus contain.RuntimeTasks (24); the cgroup
//     is killed as a whole and removed once the child was reaped;
//   - is confined by Landlock where the kernel has it: it may read its own
//     library's directory, the plugin's directory (WithPluginDir) and the
//     system's library directories; the project directory (WithProjectDir)
//     read-only with fs.read, read-write with fs.write; nothing else. TCP
//     connect and bind are refused (Landlock ABI 4), and so are signals to
//     processes outside the sandbox (ABI 6). The plugin sees EACCES.
//   - starts with nothing it was not given: only descriptors 0 (/dev/null),
//     1, 2 and its channel (3-6), whatever the host leaked without
//     O_CLOEXEC closed; an environment of PATH, LANG, LC_*, TZ, the Go
//     runtime's settings, HOME (a private directory, removed with the
//     child) and what WithEnv passes; no capability in any set, the
//     bounding set included, even under a root host;
//   - has no socket of its own: a seccomp filter fails socket(2) for every
//     family (EACCES; socketpair(AF_UNIX) stays) and io_uring (ENOSYS), on
//     amd64 and arm64, and a root host starts the child in an empty
//     network namespace. UDP, raw and packet sockets, netlink, TCP and
//     connect to a named unix socket of the host all fail;
//   - runs under that filter on every thread, installed before the plugin
//     loads: execve and execveat, memfd_create with MFD_EXEC, the kernel
//     keyring, bpf, perf_event_open, userfaultfd, namespaces, mount,
//     ptrace, kexec, module loading, raw I/O, personality changes, file
//     handles and file-metadata changes fail with EPERM, and the child has
//     a session keyring of its own (internal/contain's package doc lists
//     the calls and why).
//
// Landlock, the system call filter and the network namespace are best effort:
// on a kernel without them, an older Landlock ABI or a host without
// CAP_SYS_ADMIN, the child still runs and Containment says what was not
// enforced (so does clawd-plugin inspect).
//
// On Windows the child inherits its four pipe handles and no other
// (PROC_THREAD_ATTRIBUTE_HANDLE_LIST) and runs in a job object of its own,
// made before the child runs: the child and every process it started are
// killed when the host closes the plugin, when the child crashes and when
// the host dies (kill on job close), and the job holds the process count
// (MaxProcesses besides the child; processes only: Windows does not bound
// threads) and the per-process memory and CPU-time limits. The child runs
// with a token made from the host's without admin rights: every privilege
// but SeChangeNotifyPrivilege removed, the Administrators group deny-only,
// and low integrity, at which Windows refuses it write access to the
// user's files, registry keys and processes (of medium integrity); its
// private HOME, also its TEMP and TMP, is labelled low so that it may
// write there. Under fs.write on a project directory it stays at medium
// integrity (the user's directory is not relabelled), and Containment
// says why. The child reads its token back and tries to write up (to open
// its parent for writing, to create a file beside its home): Containment
// claims low integrity (NoWriteUp) only if both were refused, and the
// job's limits only as they read back. A crash reports the exception
// (exception 0xC0000005 (access violation)). Reading files and the network
// are not restricted. Wine 8, where the Windows tests run, kills the job's
// processes on close but enforces none of its limits (and reads them back
// as none), honours the restricted token but has no integrity levels: the
// report there says so. On other systems the sandbox
// isolates crashes and hangs only (and gets the environment allowlist),
// and says so.
//
// # Cost and limits
//
// Calls into one child are serialized, whatever the manifest's concurrent
// says. The context counters (Stats) of a child that crashed are those it
// had when last asked, its events (sent and refused by the sink) at least
// as many as the host's sink took from it: they are added to the next
// child's.
package isolate
