// Package contain confines a child process before it loads a plugin:
// rlimits, no_new_privs, Landlock, death with its parent, a hold on every
// process it starts, and a start with nothing it was not given
// (descriptors, environment, capabilities, sockets, keyrings), and a
// seccomp filter of the system calls a plugin has no business making.
//
// The plugin sandbox (package isolate) starts a child that is its own
// executable run again. The parent calls Prepare and Start (package
// internal/child does, and carries the Stage Prepare returns to the child);
// the child calls Enter at the very top of main, before it opens anything,
// and only then dlopens the untrusted plugin.
//
// # The process tree
//
// On Linux Prepare clones the child into a PID namespace of its own
// (CLONE_NEWPID): it is the namespace's init, and when it dies the kernel
// kills every process in it, setsid daemons included. Where the kernel
// refuses one (an unprivileged host without user namespaces), Start retries
// without it and the child makes itself a subreaper instead: orphans stay
// below it, in its process group, which KillGroup kills; a descendant that
// leaves the group may then outlive it. With Policy.MaxProcesses, Prepare
// also makes a pids cgroup (Tree): cgroup v2 where our cgroup's children
// get the pids controller, else a v1 pids hierarchy, whichever the host may
// write, found at run time from /proc/self/cgroup and mountinfo. The first
// image joins it before anything else runs; pids.max is MaxProcesses plus
// RuntimeTasks for the child's own threads; Tree.Kill kills it whole (v2
// cgroup.kill, v1 SIGKILL to each of cgroup.procs until empty) and
// Tree.Release removes it. Without a cgroup nothing bounds the number of
// processes of a root host (RLIMIT_NPROC does not bind root); Report says
// so.
//
// # Why the child confines itself and then executes itself again
//
// landlock_restrict_self(2) and prctl(PR_SET_NO_NEW_PRIVS) apply to the
// calling thread only, and a Go program already has several threads before
// main runs. go-landlock solves that with psx / syscall.AllThreadsSyscall,
// but AllThreadsSyscall returns ENOTSUP in any binary where the runtime
// believes cgo is present, which includes CGO_ENABLED=0 builds that use
// purego (its fakecgo sets runtime.iscgo): exactly the binaries this module
// builds. So Enter uses golang.org/x/sys/unix directly. On one thread,
// locked with runtime.LockOSThread, it sets the rlimits (those are per
// process), PR_SET_PDEATHSIG, no_new_privs and landlock_restrict_self, and
// then calls execve on the same executable from that same thread. execve
// builds the new image from the calling thread's credentials (which carry
// the Landlock domain) and task flags (no_new_privs, the parent-death
// signal), and every thread of the new image descends from that thread, so
// the whole new process is confined; the old, unconfined threads are gone.
// The tests check this from several threads of the new image.
//
// The hand-off between host, first image and second image is a Stage,
// which package internal/child carries inside its one environment variable
// (EnvHandoff): the Policy and the host's pid go to the first image; the
// Report of what was applied, and the host's pid again, go to the second,
// so it can tell whether its parent died before the parent-death signal was
// armed. With neither a Policy nor a Report in the Stage, Enter returns at
// once.
//
// (Newer kernels add LANDLOCK_RESTRICT_SELF_TSYNC to confine all threads
// at once. It is not used: older kernels lack it, no_new_privs would still
// be per thread, and execve works wherever Landlock does.)
//
// On Linux the Landlock part is best effort: rights the running kernel's
// Landlock ABI does not know are not requested, and a kernel without
// Landlock (or a seccomp filter that refuses its system calls) is reported
// in Report.Notes, not treated as an error. Every other step either works
// or stops the child with exit status 125 before the plugin is loaded.
// Elsewhere a child gets crash isolation only (its own process, and its own
// process group on Unix); Report says so.
//
// # What the child starts with
//
// Environment (everywhere): Prepare replaces cmd.Env with an allowlist
// (PATH, LANG, LANGUAGE, LC_*, TZ, the Go runtime's GODEBUG, GOTRACEBACK,
// GOMAXPROCS, GOGC, GOMEMLIMIT, GORACE), HOME and Policy.Env; the caller
// passes its own hand-off variables in Policy.Env. HOME is a private
// directory with Policy.PrivateHome (Cleanup removes it), else
// /nonexistent.
//
// On Linux, in the first image, on the locked thread, before execve:
//   - descriptors: all but 0-2, cmd.ExtraFiles and Policy.KeepFDs are made
//     close-on-exec (close_range, else a loop over /proc/self/fd), so the
//     execve closes whatever the host leaked without O_CLOEXEC. stdin is
//     what cmd.Stdin gives (nil: /dev/null).
//   - sockets (Policy.DenySockets): the seccomp filter (below) fails
//     socket(2) for every family and socketpair(2) for all but AF_UNIX
//     with EACCES, io_uring with ENOSYS (amd64 and arm64; elsewhere
//     Report notes it); and where the host holds CAP_SYS_ADMIN the child
//     starts in an empty network namespace. Landlock alone does not stop
//     UDP, raw or packet sockets, netlink or connect to a named unix
//     socket; a namespace alone does not stop the last.
//   - privileges: locked securebits (no root privilege at execve),
//     the bounding set emptied (needs CAP_SETPCAP, which a root host has;
//     otherwise Report notes it), ambient cleared, optionally
//     setgroups/setresgid/setresuid to Policy.UID/GID, then capset(none)
//     and the parent-death signal armed again (a credential change clears
//     it). The new image, root or not, has no effective, permitted,
//     inheritable or ambient capability, and an empty bounding set where
//     CAP_SETPCAP was at hand.
//     Under Policy.UID the file system's own permissions apply on top of
//     Landlock: the executable, the library and the policy's paths must be
//     readable by that uid.
//   - keyrings, last: a new anonymous session keyring (KEYCTL_JOIN_SESSION_KEYRING
//     with no name), joined after the ids are the plugin's, so the host's
//     session keyring is out of reach through @s even without the filter.
//     The user keyring (@u) is per uid and stays reachable by keyctl:
//     Policy.DenySyscalls refuses the keyring calls for that.
//   - IPC: where the host holds CAP_SYS_ADMIN the child starts in an
//     empty IPC namespace (CLONE_NEWIPC), as Docker starts every
//     container: Landlock does not cover System V IPC, so a child of the
//     host's uid would otherwise reach the host's shared memory,
//     semaphores and message queues by their owner permissions (and its
//     POSIX message queues through mq_open). Elsewhere Report notes it.
//     /dev/mqueue, a mount of the host's queues, is a path: Landlock
//     keeps the child out of it unless the policy grants it.
//
// # The system call filter
//
// Policy.DenySockets and Policy.DenySyscalls make one seccomp filter
// (classic BPF, assembled here), installed by the second image on all its
// threads at once (SECCOMP_FILTER_FLAG_TSYNC) in Enter, before the plugin
// is loaded: the child was started by execve, and from then on execve and
// execveat are refused. Installed in the first image it would have to let
// the second image's execve through, and a filter cannot tell one execve
// from the next. The filter checks the arch value first (another ABI, such
// as i386 by int 0x80 on amd64, gets EPERM for every call) and, on amd64,
// refuses every x32 number (bit 0x40000000).
//
// The model is a denylist over a reviewed table, not an allowlist. A
// plugin is arbitrary native code in a process that also runs the Go
// runtime and whatever the plugin dlopens: C, C++, Rust or Zig runtimes
// with threads, allocators, JITs and NUMA-aware libraries, each with its
// own set of system calls that differs by libc, by version and by kernel.
// An allowlist tight enough to matter would break plugins in ways nobody
// sees until a user runs one; a loose one is the denylist written the
// other way round. So the filter refuses what container runtimes refuse
// to a process without capabilities (Docker's default profile: its
// capability-gated groups and the calls it never allows) and the classes
// systemd's @privileged, @mount, @module, @raw-io, @reboot, @swap,
// @clock, @debug, @keyring, @cpu-emulation and @obsolete name, plus what
// the sandbox adds: execve and execveat (Docker allows them),
// memfd_create with MFD_EXEC, name_to_handle_at, ptrace (Docker allows
// it from kernel 4.8), modify_ldt, io_uring (which runs operations
// without system calls, past this filter), and changes of file metadata:
// chown and extended attributes, and chmod to a mode with more than the
// owner's bits (setuid, setgid, sticky, any group or other permission),
// by path or by descriptor. Landlock restricts none of those, and the
// child runs as the host's uid, which owns the host's files: without the
// filter a plugin could make a system binary setuid or a private key
// world-readable. An owner-only chmod stays allowed (a plugin, and this
// module's own verified copies, make a file read-only or executable), so
// a plugin can still take permissions away from a host file it can name
// (timestamps, utimensat, too): running the child under a uid of its own
// (Policy.UID) is what closes that. What a denylist does worst,
// letting a new kernel's new call through, is closed by its table: every
// number above the highest one reviewed fails with ENOSYS, as on an older
// kernel, until the table is reviewed again.
//
// Argument rules: personality(2) only for the values Docker allows (0,
// PER_LINUX32, UNAME26, both, and the query 0xffffffff); clone(2) without
// a namespace flag (fork and threads work); clone3(2), whose flags are in
// memory a filter cannot read, with ENOSYS, so that glibc, musl and Rust
// fall back to clone; memfd_create(2) without MFD_EXEC (a memfd without
// MFD_NOEXEC_SEAL is executable by default, but nothing can execute it).
//
// Refusals are EPERM, which is what the kernel says to a process that
// lacks the privilege, so callers take the path they take for that;
// ENOSYS where a caller has a fallback for a call the kernel lacks
// (clone3, io_uring, numbers past the table). A plugin that forks and
// executes a helper program breaks: fork without exec works. The Go
// runtime of the child executes nothing after its start.
//
// What Landlock as used here does not restrict: file descriptors the child
// inherited (stdin, stdout, stderr, ExtraFiles stay usable, which is how the
// parent talks to it); stat, readlink and path lookup; connecting to named
// unix sockets and UDP (DenySockets covers those); anything outside the
// file system, TCP, signals and abstract sockets.
// The Go runtime and the dynamic loader of the second image get what they
// need to start: the executable, SystemLibraryDirs, a few devices,
// /proc/<pid> and /sys/kernel/mm/transparent_hugepage, read-only, and
// /dev/null read-write.
package contain

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// EnvHandoff names the one environment variable that carries a child's
// hand-off (a JSON object; package internal/child owns it and embeds a
// Stage in it). confineAndExec rewrites it for the second image.
const EnvHandoff = "CLAWD_CHILD"

// Stage is contain's part of the hand-off from a host to its child.
type Stage struct {
	Policy *Policy `json:"policy,omitempty"` // first image: confine by it, then execute again
	Parent int     `json:"parent,omitempty"` // the host's pid, as the host sees it
	Tree   *Tree   `json:"tree,omitempty"`   // the process tree's bound, joined by the first image
	Report *Report `json:"report,omitempty"` // second image: what the first applied
}

// exitFailed is the exit status of a child that could not be confined.
const exitFailed = 125

// Policy says what a confined child may do. Paths must be absolute.
type Policy struct {
	ReadOnly     []string // files or directories: read, list, execute
	ReadWrite    []string // files or directories: everything ReadOnly allows plus write, create, remove, truncate
	DenyTCP      bool     // no TCP connect or bind at all (Landlock ABI >= 4)
	ScopeSignals bool     // the child cannot signal processes outside its domain (Landlock ABI >= 6), nor connect to abstract unix sockets outside
	AddressSpace uint64   // RLIMIT_AS in bytes; 0 leaves it
	CPUSeconds   uint64   // RLIMIT_CPU (soft = hard) in seconds; 0 leaves it
	NoCoreDumps  bool     // RLIMIT_CORE = 0
	Landlock     bool     // apply Landlock at all (best effort: a kernel without it is reported, not an error)
	// MaxProcesses bounds the processes and threads the plugin may create
	// (a pids cgroup, where the host may make one; see Tree); 0: no bound.
	MaxProcesses int

	// Env is what the child's environment holds besides the allowlist
	// (env.go): "NAME=VALUE" sets NAME, "NAME" passes the value cmd.Env
	// (nil: os.Environ()) has, if any. Later entries win. The caller's own
	// hand-off variables go here too; nothing else of cmd.Env reaches the
	// child.
	Env []string `json:",omitempty"`
	// KeepFDs lists descriptors the child keeps open besides 0-2 and the
	// ones cmd.ExtraFiles gives it (3 on), which Prepare adds (so set
	// ExtraFiles first). Every other descriptor is closed at the execve
	// that starts the second image, before anything of the plugin runs.
	KeepFDs []int `json:",omitempty"`
	// PrivateHome points HOME at a directory of the child's own: Prepare
	// creates it (owned by UID/GID), grants it read-write, and Cleanup
	// removes it. Without it HOME is /nonexistent.
	PrivateHome bool `json:",omitempty"`
	// DenySockets leaves the child no socket of its own: a seccomp filter
	// refuses socket(2) for every family and socketpair(2) for all but
	// AF_UNIX (EACCES), and io_uring (ENOSYS), and the child starts in an
	// empty network namespace where the host may create one.
	DenySockets bool `json:",omitempty"`
	// DenySyscalls refuses, by a seccomp filter on every thread of the
	// child, the system calls a plugin has no business making (the
	// package doc, "The system call filter"): execve and execveat once the
	// child started, the kernel keyring, bpf, perf, userfaultfd,
	// namespaces, mount, ptrace, kexec, modules, raw I/O, personality
	// changes, file handles, file metadata (chmod, chown, xattrs) and
	// more, with EPERM (ENOSYS where callers fall back).
	DenySyscalls bool `json:",omitempty"`
	// UID and GID, when not 0, are the unprivileged ids the child switches
	// to (no supplementary groups) before it executes itself again; the
	// host must be root (CAP_SETUID, CAP_SETGID). Landlock only subtracts
	// from what the ids may reach: the executable, the library and every
	// path of the policy must be readable (and their directories
	// searchable) by UID/GID, which a root-owned 0700 directory such as a
	// private cache copy of the library is not.
	UID int `json:",omitempty"`
	GID int `json:",omitempty"`
	// NetNS is set by Prepare: the child starts in a network namespace of
	// its own (DenySockets and the host holds CAP_SYS_ADMIN).
	NetNS bool `json:",omitempty"`
	// IPCNS is set by Prepare: the child starts in an IPC namespace of its own
	// (the host holds CAP_SYS_ADMIN), whatever else the policy says.
	IPCNS bool `json:",omitempty"`
	// TokenNote is set by Prepare on Windows: what kept the child's token
	// from being restricted and lowered to low integrity, if anything.
	TokenNote string `json:",omitempty"`
}

// Report says what was actually applied (filled in by the child, read back
// by the parent).
type Report struct {
	OS             string   `json:"os"`
	LandlockABI    int      `json:"landlock_abi"`    // 0: not applied
	Filesystem     bool     `json:"filesystem"`      // file access restricted to the policy's paths
	TCP            bool     `json:"tcp"`             // TCP connect and bind denied
	Signals        bool     `json:"signals"`         // signal scoping applied
	NoNewPrivs     bool     `json:"no_new_privs"`    // PR_SET_NO_NEW_PRIVS set
	Rlimits        bool     `json:"rlimits"`         // the policy asked for rlimits and all are in force
	DieWithParent  bool     `json:"die_with_parent"` // SIGKILL when the parent dies
	FDs            bool     `json:"fds"`             // inherited descriptors other than 0-2 and the kept ones closed
	Env            bool     `json:"env"`             // the environment is the allowlist plus Policy.Env
	NoCapabilities bool     `json:"no_capabilities"` // every capability set empty: effective, permitted, inheritable, ambient, bounding
	UID            int      `json:"uid"`             // the uid and gid the plugin runs as
	GID            int      `json:"gid"`
	NetNS          bool     `json:"netns"`                   // an empty network namespace of its own
	IPCNS          bool     `json:"ipcns"`                   // an empty IPC namespace of its own: no System V IPC object or POSIX message queue of the host
	Sockets        bool     `json:"sockets"`                 // the seccomp filter refuses socket families (Policy.DenySockets)
	PIDNamespace   bool     `json:"pid_namespace"`           // the child is the init of a PID namespace: its death kills every descendant
	Cgroup         int      `json:"cgroup,omitempty"`        // 1 or 2: the pids cgroup version that bounds and kills the tree; 0: none
	MaxProcesses   int      `json:"max_processes,omitempty"` // the plugin's share of the cgroup's pids.max
	Subreaper      bool     `json:"subreaper"`               // no PID namespace: the child adopts the orphans of its descendants
	Notes          []string `json:"notes,omitempty"`         // what could not be enforced and why, one sentence each

	// The system call filter (Policy.DenySyscalls) and the keyring.
	Syscalls       int      `json:"syscalls_denied,omitempty"` // how many system calls the seccomp filter refuses, outright or by their arguments
	SyscallClasses []string `json:"syscall_classes,omitempty"` // what they are, in short: "exec", "keyring", "bpf", ...
	SessionKeyring bool     `json:"session_keyring"`           // a new, empty session keyring of its own, not the host's

	// Windows: the child's token as it reads it back.
	Integrity       string `json:"integrity,omitempty"`        // its integrity level: "low", "medium", ...
	RestrictedToken bool   `json:"restricted_token,omitempty"` // no privilege but SeChangeNotifyPrivilege, Administrators deny-only or absent
	NoWriteUp       bool   `json:"no_write_up,omitempty"`      // write access to its medium-integrity parent and to a file beside its home tried and refused
}

// noteNoLandlock is the note for a kernel without Landlock; String looks
// for it to tell "kernel lacks it" from "not requested".
const noteNoLandlock = "the kernel has no Landlock: file and network access are not restricted"

// String is one line for humans, such as
// "landlock v7 (filesystem, tcp, signals), no_new_privs, rlimits, dies with parent".
func (r Report) String() string {
	if r.OS == "windows" && (r.DieWithParent || r.MaxProcesses > 0 || r.Rlimits || r.RestrictedToken || r.NoWriteUp) {
		var job []string
		if r.DieWithParent {
			job = append(job, "killed with the host")
		}
		if r.MaxProcesses > 0 {
			job = append(job, fmt.Sprintf("at most %d processes", r.MaxProcesses))
		}
		if r.Rlimits {
			job = append(job, "memory and CPU-time limits")
		}
		s := "job object (" + strings.Join(job, ", ") + ")"
		if len(job) == 0 {
			s = "job object (no limit read back)"
		}
		return s + r.tokenPart() + "; no read, network or signal confinement on windows"
	}
	if r.OS != "linux" {
		var missing []string
		if r.LandlockABI == 0 {
			missing = append(missing, "no file, network or signal confinement")
		}
		if !r.NoNewPrivs {
			missing = append(missing, "no no_new_privs")
		}
		if !r.Rlimits {
			missing = append(missing, "no rlimits")
		}
		if !r.DieWithParent {
			missing = append(missing, "does not die with its parent")
		}
		on := r.OS
		if on == "" {
			on = "unknown OS"
		}
		return "crash isolation only: " + strings.Join(missing, ", ") + " on " + on
	}
	var parts []string
	if r.LandlockABI > 0 {
		var what []string
		if r.Filesystem {
			what = append(what, "filesystem")
		}
		if r.TCP {
			what = append(what, "tcp")
		}
		if r.Signals {
			what = append(what, "signals")
		}
		parts = append(parts, fmt.Sprintf("landlock v%d (%s)", r.LandlockABI, strings.Join(what, ", ")))
	} else {
		why := "not requested"
		for _, n := range r.Notes {
			if n == noteNoLandlock {
				why = "kernel lacks it"
			}
		}
		parts = append(parts, "no landlock ("+why+")")
	}
	if r.NoNewPrivs {
		parts = append(parts, "no_new_privs")
	}
	if r.Rlimits {
		parts = append(parts, "rlimits")
	}
	if r.DieWithParent {
		parts = append(parts, "dies with parent")
	}
	parts = append(parts, r.treeParts()...)
	return strings.Join(append(parts, r.confinedParts()...), ", ")
}

// tokenPart names what the Windows child's token holds, as read back and
// tried.
func (r Report) tokenPart() string {
	var what []string
	if r.RestrictedToken {
		what = append(what, "restricted token")
	}
	switch {
	case r.NoWriteUp:
		what = append(what, r.Integrity+" integrity (no write to the user's files)")
	case r.Integrity != "" && r.Integrity != "medium" && r.Integrity != "high" && r.Integrity != "system":
		what = append(what, r.Integrity+" integrity token, not enforced")
	case r.Integrity != "":
		what = append(what, r.Integrity+" integrity")
	}
	if len(what) == 0 {
		return ""
	}
	return ", " + strings.Join(what, ", ")
}

// Prepare configures cmd to run confined by p and returns the Stage to hand
// to the child (the caller, package internal/child, puts it in EnvHandoff
// after Prepare returns). It puts the child in its own process group, and
// on Linux in a PID namespace of its own (Cloneflags) with
// SysProcAttr.Pdeathsig = SIGKILL, and, when p.MaxProcesses is set, makes
// the pids cgroup the child joins (Stage.Tree; the caller must Release it
// once the child was reaped). Other SysProcAttr fields are kept. A nil
// cmd.Env means os.Environ(). The child's environment is the allowlist,
// HOME and p.Env resolved against cmd.Env. With p.DenySockets, where the
// host may, the child also gets an empty network namespace (CLONE_NEWNET).
// Where the host may, it gets an empty IPC namespace too (CLONE_NEWIPC).
// Set cmd.ExtraFiles before: those descriptors are kept, every other one
// is closed before the plugin loads. With p.PrivateHome, call Cleanup once
// the child has ended.
func Prepare(cmd *exec.Cmd, p Policy) (Stage, error) {
	if cmd.Process != nil {
		return Stage{}, fmt.Errorf("contain: command %s already started", cmd.Path)
	}
	if err := p.validate(); err != nil {
		return Stage{}, err
	}
	p, home, err := prepareChild(cmd, p) // kept fds, network and IPC namespaces, private home
	if err != nil {
		return Stage{}, err
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	// The allowlist and p.Env only: a hand-off inherited from a confined
	// parent of ours is dropped with the rest; the caller adds the child's.
	cmd.Env = childEnv(env, p, home)
	if err := setProcAttr(cmd); err != nil {
		removeHome(home)
		return Stage{}, err
	}
	if p.NetNS {
		setNetNS(cmd)
	}
	if p.IPCNS {
		setIPCNS(cmd)
	}
	keepHome(cmd, home)
	planJob(cmd, &p) // Windows: the job object Start puts the child in, and the child's token
	s := Stage{Policy: &p, Parent: os.Getpid()}
	if p.MaxProcesses > 0 {
		s.Tree = newTree(p.MaxProcesses) // nil where the host cannot make one
	}
	return s, nil
}

// Applied returns the Report of this process if Enter confined it.
func Applied() (Report, bool) {
	if applied == nil {
		return Report{}, false
	}
	return *applied, true
}

// applied is the Report Enter found in the second image's Stage.
var applied *Report

// validate checks that every path is absolute.
func (p Policy) validate() error {
	if err := p.validateConfine(); err != nil {
		return err
	}
	for _, list := range [][]string{p.ReadOnly, p.ReadWrite} {
		for _, path := range list {
			if !filepath.IsAbs(path) {
				return fmt.Errorf("contain: policy path %q is not absolute", path)
			}
		}
	}
	return nil
}

// rlimits tells whether p asks for any resource limit.
func (p Policy) rlimits() bool {
	return p.AddressSpace != 0 || p.CPUSeconds != 0 || p.NoCoreDumps
}

// checkParent exits with status 125 if want (the host's pid) is no longer
// our parent: it died before the parent-death signal was armed, and nobody
// would kill us when it goes.
func checkParent(want int) {
	if want == 0 {
		return
	}
	if got := parentPID(); got != want {
		die("parent %d exited before the child was confined (parent is now %d)", want, got)
	}
}

// withoutVars returns env without the variables named.
func withoutVars(env []string, names ...string) []string {
	out := make([]string, 0, len(env))
next:
	for _, kv := range env {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// die reports a failed step on stderr and exits with status 125, before
// anything of the plugin runs.
func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "clawd contain: "+format+"\n", args...)
	os.Exit(exitFailed)
}

// existing keeps the paths that exist.
func existing(paths []string) []string {
	var out []string
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// treeParts names what holds the child's process tree.
func (r Report) treeParts() []string {
	var parts []string
	if r.PIDNamespace {
		parts = append(parts, "pid namespace")
	}
	if r.Subreaper {
		parts = append(parts, "subreaper")
	}
	if r.Cgroup > 0 {
		parts = append(parts, fmt.Sprintf("pids cgroup v%d (max %d)", r.Cgroup, r.MaxProcesses))
	}
	return parts
}
