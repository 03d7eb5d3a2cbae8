package contain

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock access rights by the ABI version that introduced them; the
// values are those of linux/landlock.h, which golang.org/x/sys/unix mirrors.
const (
	// ABI 1: LANDLOCK_ACCESS_FS_EXECUTE (1<<0) through MAKE_SYM (1<<12).
	fsRightsV1 = unix.LANDLOCK_ACCESS_FS_MAKE_SYM<<1 - 1

	// The rights that apply to a file; the kernel refuses a rule on a file
	// that grants anything else (linux/landlock.h, "ACCESS_FILE" in
	// security/landlock/fs.c).
	fsFileRights = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE |
		unix.LANDLOCK_ACCESS_FS_IOCTL_DEV

	fsReadOnly = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_DIR

	netTCP = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP

	scopes = unix.LANDLOCK_SCOPE_SIGNAL | unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
)

// rulesetAttrSize is the size of struct landlock_ruleset_attr up to and
// including scoped (handled_access_fs, handled_access_net, scoped: three
// u64). unix.LandlockRulesetAttr also has the later quiet_* fields, which
// this package does not use and older kernels do not know.
const rulesetAttrSize = unsafe.Offsetof(unix.LandlockRulesetAttr{}.Quiet_access_fs)

// Enter must be called at the very top of main, before anything else opens
// files, with the Stage of the child's hand-off. With a Policy it confines
// this process and executes it again, with the hand-off that encode
// returns once s holds the Report instead (it never returns then; a step
// that fails writes one line "clawd contain: ..." to stderr and exits with
// status 125). In the image executed again s holds the Report: Enter checks
// that the parent that started the child is still its parent (else exit
// 125), installs the seccomp filter the Report promises on all its
// threads, records the Report for Applied and returns. With neither it
// returns at once.
func Enter(s *Stage, encode func() ([]byte, error)) {
	if s.Policy != nil {
		confineAndExec(s, encode) // does not return
	}
	if s.Report != nil {
		checkParent(s.Parent)
		// Here, not in the first image: this image was started by execve,
		// and the filter refuses every execve from now on.
		if err := installFilter(s.Report); err != nil {
			die("%v", err)
		}
		applied = s.Report
	}
}

// Probe reports what this kernel would apply for p without applying
// anything.
func Probe(p Policy) Report {
	abi, abiErr := landlockABI()
	r := expect(p, abi, abiErr)
	expectConfine(&r, p, p.DenySockets && canNewNet(), canNewIPC())
	r.PIDNamespace = pidNamespaces.Load()
	r.Subreaper = !r.PIDNamespace
	if p.MaxProcesses > 0 {
		// Foreseen by making one and removing it again.
		if t := newTree(p.MaxProcesses); t != nil {
			r.Cgroup, r.MaxProcesses = t.Version, p.MaxProcesses
			t.Release()
		} else {
			r.Notes = append(r.Notes, noteNoCgroup)
		}
	}
	if err := p.validate(); err != nil {
		r.Notes = append(r.Notes, err.Error())
	}
	if r.Filesystem {
		for _, path := range append(append([]string(nil), p.ReadOnly...), p.ReadWrite...) {
			if _, err := os.Stat(path); err != nil {
				r.Notes = append(r.Notes, fmt.Sprintf("policy path %s is skipped: %v", path, errors.Unwrap(err)))
			}
		}
	}
	return r
}

// SystemLibraryDirs lists the existing directories (and the loader's cache
// files) from which the dynamic loader loads system libraries.
func SystemLibraryDirs() []string {
	candidates := []string{
		"/lib", "/lib64", "/lib32", "/libx32",
		"/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32",
		"/usr/local/lib", "/usr/local/lib64",
		"/etc/ld.so.cache", "/etc/ld.so.preload",
	}
	// musl's loader reads its search path from /etc/ld-musl-ARCH.path.
	musl, _ := filepath.Glob("/etc/ld-musl-*.path")
	return existing(append(candidates, musl...))
}

// Start starts cmd from one dedicated OS thread that is locked and never
// exits: the parent-death signal fires when the thread that forked the child
// exits, not the process, and Go retires threads (golang/go#27505).
func Start(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		go spawnLoop(spawner.reqs)
	})
	if a := cmd.SysProcAttr; a != nil && a.Cloneflags&syscall.CLONE_NEWPID != 0 && !pidNamespaceUsable() {
		// No PID namespace for us (not privileged, or none left): the
		// child makes itself a subreaper instead (confineAndExec). Known
		// before the start: an exec.Cmd cannot be started a second time.
		pidNamespaces.Store(false)
		a.Cloneflags &^= syscall.CLONE_NEWPID
	}
	done := make(chan error, 1)
	spawner.reqs <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

// pidNamespaceUsable asks the kernel once whether this process may make a
// PID namespace: unshare(CLONE_NEWPID) on a thread of its own, which Go
// then discards (its goroutine ends locked to it), so nothing else is
// affected. It needs the same privilege as the clone flag.
var pidNamespaceUsable = sync.OnceValue(func() bool {
	ok := make(chan bool, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		ok <- unix.Unshare(unix.CLONE_NEWPID) == nil
	}()
	return <-ok
})

// pidNamespaces is whether children get a PID namespace of their own: true
// until the kernel refuses one.
var pidNamespaces = func() *atomic.Bool {
	var b atomic.Bool
	b.Store(true)
	return &b
}()

// spawner is the one thread every confined child is forked from.
var spawner struct {
	once sync.Once
	reqs chan spawnRequest
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan<- error
}

func spawnLoop(reqs <-chan spawnRequest) {
	// Never unlocked and never returns: the thread lives as long as the
	// process, so no child sees its "parent" thread exit early.
	runtime.LockOSThread()
	for r := range reqs {
		r.done <- r.cmd.Start()
	}
}

// setProcAttr puts the child in its own process group and arms SIGKILL for
// when its parent thread dies.
func setProcAttr(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	a := cmd.SysProcAttr
	if !a.Setsid { // a session leader already leads its own group
		if a.Setpgid && a.Pgid != 0 {
			return fmt.Errorf("contain: SysProcAttr.Pgid %d conflicts with a process group of the child's own", a.Pgid)
		}
		a.Setpgid = true
	}
	a.Pdeathsig = syscall.SIGKILL
	// The child is the init of a PID namespace: when it dies, the kernel
	// kills everything it started, setsid daemons included. (Go's fork
	// then finds getppid() == 0 and signals itself; init ignores that.)
	if pidNamespaces.Load() {
		a.Cloneflags |= syscall.CLONE_NEWPID
	}
	return nil
}

// expect is the Report that p gets on a kernel with Landlock ABI abi
// (abiErr: why there is none), before the paths are looked at.
func expect(p Policy, abi int, abiErr error) Report {
	r := Report{OS: "linux", NoNewPrivs: true, DieWithParent: true, Rlimits: p.rlimits()}
	switch {
	case !p.Landlock:
		if p.DenyTCP || p.ScopeSignals {
			r.Notes = append(r.Notes, "TCP and signal restrictions need Landlock, which the policy turns off")
		}
	case abiErr != nil:
		if errors.Is(abiErr, unix.ENOSYS) || errors.Is(abiErr, unix.EOPNOTSUPP) {
			r.Notes = append(r.Notes, noteNoLandlock)
		} else {
			r.Notes = append(r.Notes, fmt.Sprintf("the Landlock version query failed (%v): file and network access are not restricted", abiErr))
		}
	default:
		r.LandlockABI, r.Filesystem = abi, true
		if p.DenyTCP {
			r.TCP = abi >= 4
			if !r.TCP {
				r.Notes = append(r.Notes, fmt.Sprintf("Landlock ABI v%d cannot restrict TCP (needs v4)", abi))
			}
		}
		if p.ScopeSignals {
			r.Signals = abi >= 6
			if !r.Signals {
				r.Notes = append(r.Notes, fmt.Sprintf("Landlock ABI v%d cannot scope signals and abstract unix sockets (needs v6)", abi))
			}
		}
	}
	return r
}

// confineAndExec is the first image of the child: it confines the process
// and executes it again. Every step that fails ends the process (die).
func confineAndExec(s *Stage, encode func() ([]byte, error)) {
	p := *s.Policy
	if err := p.validate(); err != nil {
		die("%v", err)
	}
	if s.Parent <= 0 {
		die("the hand-off names no parent: the child was not started by Prepare")
	}
	// First, before anything else runs: every task from here on is counted.
	if s.Tree != nil {
		if err := s.Tree.join(); err != nil {
			die("%v", err)
		}
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		die("find own executable: %v", err)
	}

	// Every per-thread step below, and execve, must run on this one thread.
	// It is never unlocked: the process image is replaced or exits.
	runtime.LockOSThread()

	abi, abiErr := 0, error(nil)
	if p.Landlock {
		abi, abiErr = landlockABI()
	}
	r := expect(p, abi, abiErr)
	expectConfine(&r, p, p.NetNS, p.IPCNS)
	r.PIDNamespace = os.Getpid() == 1
	if !r.PIDNamespace {
		// Orphans of the plugin's processes are reparented to the child
		// rather than to init, so they stay within its process group's reach.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			die("prctl(PR_SET_CHILD_SUBREAPER): %v", err)
		}
		r.Subreaper = true
	}
	if s.Tree != nil {
		r.Cgroup, r.MaxProcesses = s.Tree.Version, p.MaxProcesses
	} else if p.MaxProcesses > 0 {
		r.Notes = append(r.Notes, noteNoCgroup)
	}

	if err := setRlimits(p); err != nil {
		die("%v", err)
	}
	if err := closeInherited(p.KeepFDs); err != nil {
		die("%v", err)
	}
	// Per thread: armed for this thread, which becomes the whole process at
	// execve. (The thread Go's fork started on had it from SysProcAttr.)
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		die("prctl(PR_SET_PDEATHSIG): %v", err)
	}
	// Per thread; needed by landlock_restrict_self without CAP_SYS_ADMIN.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		die("prctl(PR_SET_NO_NEW_PRIVS): %v", err)
	}
	if r.LandlockABI > 0 {
		ro, rw := childPaths(p, exe)
		notes, err := restrictThread(r, ro, rw)
		if err != nil {
			die("%v", err)
		}
		r.Notes = append(r.Notes, notes...)
	}
	// Last: the steps above need no capability, but they may need root
	// to read what they grant (O_PATH opens of the policy paths).
	if err := dropPrivileges(p, &r); err != nil {
		die("%v", err)
	}
	// After the ids are the plugin's: the keyring is its own. Neither the
	// host's session keyring nor one named by a former uid is reachable
	// through ; , per uid, is the filter's to refuse.
	if r.SessionKeyring {
		if err := joinSessionKeyring(); err != nil {
			die("%v", err)
		}
	}

	s.Policy, s.Report = nil, &r
	js, err := encode()
	if err != nil {
		die("encode the hand-off: %v", err)
	}
	env := append(withoutVars(os.Environ(), EnvHandoff), EnvHandoff+"="+string(js))
	err = syscall.Exec(exe, os.Args, env)
	die("execute %s again: %v", exe, err)
}

// setRlimits applies p's resource limits, soft = hard, so the plugin cannot
// raise them again. They are per process and survive execve. A limit above
// the current hard limit is lowered to it (raising it needs privilege, and
// lower is stricter).
func setRlimits(p Policy) error {
	set := func(name string, res int, v uint64) error {
		var cur unix.Rlimit
		if err := unix.Getrlimit(res, &cur); err != nil {
			return fmt.Errorf("getrlimit(%s): %v", name, err)
		}
		v = min(v, cur.Max)
		if err := unix.Setrlimit(res, &unix.Rlimit{Cur: v, Max: v}); err != nil {
			return fmt.Errorf("setrlimit(%s, %d): %v", name, v, err)
		}
		return nil
	}
	if p.AddressSpace != 0 {
		if err := set("RLIMIT_AS", unix.RLIMIT_AS, p.AddressSpace); err != nil {
			return err
		}
	}
	if p.CPUSeconds != 0 {
		if err := set("RLIMIT_CPU", unix.RLIMIT_CPU, p.CPUSeconds); err != nil {
			return err
		}
	}
	if p.NoCoreDumps {
		if err := set("RLIMIT_CORE", unix.RLIMIT_CORE, 0); err != nil {
			return err
		}
	}
	return nil
}

// A grant is one path and whether the caller named it (a caller's path
// that is missing is noted; a system path that is missing is not).
type grant struct {
	path   string
	caller bool
}

// childPaths is p's paths plus what the second image itself needs: its
// executable, the dynamic loader's files, a few devices, its /proc entry
// and what the Go runtime reads at start.
func childPaths(p Policy, exe string) (ro, rw []grant) {
	for _, path := range p.ReadOnly {
		ro = append(ro, grant{path, true})
	}
	for _, path := range p.ReadWrite {
		rw = append(rw, grant{path, true})
	}
	system := append([]string{exe}, SystemLibraryDirs()...)
	system = append(system,
		"/dev/zero", "/dev/urandom", "/dev/random",
		// /proc/self is a symlink to /proc/<pid>; execve keeps the pid. The
		// pid as /proc numbers it: in a PID namespace Getpid says 1.
		"/proc/"+procPID(),
		"/sys/kernel/mm/transparent_hugepage", // the Go runtime reads the huge page size
	)
	for _, path := range system {
		ro = append(ro, grant{path, false})
	}
	rw = append(rw, grant{"/dev/null", false})
	return ro, rw
}

// landlockABI returns the running kernel's Landlock ABI version.
func landlockABI() (int, error) {
	// landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
	// returns the version instead of a ruleset.
	v, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if e != 0 {
		return 0, e
	}
	return int(v), nil
}

// handledFS is the file system rights Landlock ABI abi knows.
func handledFS(abi int) uint64 {
	h := uint64(fsRightsV1)
	if abi >= 2 {
		h |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		h |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 5 {
		h |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	return h
}

// restrictThread builds a Landlock ruleset that allows the grants and
// applies it to the calling thread (the caller has locked it and set
// no_new_privs). r says which kinds of access to handle. It returns notes
// for the caller's paths that it skipped.
func restrictThread(r Report, ro, rw []grant) (notes []string, err error) {
	attr := unix.LandlockRulesetAttr{Handled_access_fs: handledFS(r.LandlockABI)}
	if r.TCP {
		attr.Handled_access_net = netTCP // and no rule allows any port
	}
	if r.Signals {
		attr.Scoped = scopes
	}
	// The pointer is converted to uintptr in the call expression itself, so
	// attr stays alive and in place for the duration of the syscall.
	fd, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), rulesetAttrSize, 0)
	if e != 0 {
		return nil, fmt.Errorf("landlock_create_ruleset: %v", e)
	}
	ruleset := int(fd)
	defer unix.Close(ruleset)

	add := func(g grant, dirRights uint64) error {
		pfd, err := unix.Open(g.path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			if g.caller {
				notes = append(notes, fmt.Sprintf("policy path %s is skipped: %v", g.path, err))
			}
			return nil
		}
		defer unix.Close(pfd)
		var st unix.Stat_t
		if err := unix.Fstat(pfd, &st); err != nil {
			return fmt.Errorf("stat %s: %v", g.path, err)
		}
		rights := dirRights & attr.Handled_access_fs
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			rights &= fsFileRights // directory rights on a file are EINVAL
		}
		// struct landlock_path_beneath_attr is packed (12 bytes); the Go
		// struct has the same offsets plus tail padding the kernel ignores.
		pb := unix.LandlockPathBeneathAttr{Allowed_access: rights, Parent_fd: int32(pfd)}
		// Pointer converted in the call expression: valid for the syscall.
		_, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset),
			unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&pb)), 0, 0, 0)
		if e != 0 {
			return fmt.Errorf("landlock_add_rule(%s): %v", g.path, e)
		}
		return nil
	}
	for _, g := range ro {
		if err := add(g, fsReadOnly); err != nil {
			return nil, err
		}
	}
	for _, g := range rw {
		if err := add(g, attr.Handled_access_fs); err != nil {
			return nil, err
		}
	}
	// Per thread: this thread gets the new domain, the others do not.
	if _, _, e := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0); e != 0 {
		return nil, fmt.Errorf("landlock_restrict_self: %v", e)
	}
	return notes, nil
}

// procPID is this process's pid as the mounted /proc numbers it.
func procPID() string {
	if s, err := os.Readlink("/proc/self"); err == nil {
		return s
	}
	return strconv.Itoa(os.Getpid())
}

// parentPID is the parent's pid as the host sees it: in a PID namespace
// getppid says 0 (the parent is outside it), but the mounted /proc, the
// host's, still names it.
func parentPID() int {
	if ppid := os.Getppid(); ppid != 0 {
		return ppid
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// noteNoCgroup is the note for a bound the host could not enforce.
const noteNoCgroup = "no pids cgroup could be made: the number of processes and threads is not bounded"
