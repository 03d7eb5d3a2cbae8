package contain

import "golang.org/x/sys/unix"

// RestrictThisThread confines the calling thread, which the caller has
// locked, to a Landlock domain that allows no file access, without execve.
func RestrictThisThread() error {
	abi, err := landlockABI()
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	_, err = restrictThread(Report{LandlockABI: abi}, nil, nil)
	return err
}

// Expect and HandledFS expose the ABI arithmetic for tests.
var (
	Expect    = expect
	HandledFS = handledFS
)

// SocketFilter is the assembled seccomp program.
var SocketFilter = func() ([]unix.SockFilter, error) { return buildFilter(true, false) }

// SyscallFilter is the assembled program of the sandbox: sockets and the
// denied system calls.
var SyscallFilter = func() ([]unix.SockFilter, error) { return buildFilter(true, true) }

// NoPIDNamespaces makes Start behave as on a host that may not make PID
// namespaces (an unprivileged user's, most containers') until restore.
func NoPIDNamespaces() (restore func()) {
	usable, was := pidNamespaceUsable, pidNamespaces.Load()
	pidNamespaceUsable = func() bool { return false }
	return func() { pidNamespaceUsable = usable; pidNamespaces.Store(was) }
}

// SyscallRule is a rule of the filter, as the tests see it.
type SyscallRule struct {
	Name, Class string
	Nr          uint32
	Errno       unix.Errno
	Args        bool // refused for some argument values only
}

// SyscallRules lists the rules of Policy.DenySyscalls on this arch.
func SyscallRules() []SyscallRule {
	var out []SyscallRule
	for _, r := range syscallRules() {
		out = append(out, SyscallRule{Name: r.name, Class: r.class, Nr: r.nr, Errno: r.errno, Args: !r.test.zero()})
	}
	return out
}

// AuditArch and LastReviewed are the filter's arch value and the highest
// system call number its table was written against.
const (
	AuditArch    = auditArch
	LastReviewed = lastReviewed
)

// NoIPCNamespaces makes Prepare and Probe behave as on a host that may not
// make IPC namespaces (no CAP_SYS_ADMIN) until restore.
func NoIPCNamespaces() (restore func()) {
	was := canNewIPC
	canNewIPC = func() bool { return false }
	return func() { canNewIPC = was }
}
