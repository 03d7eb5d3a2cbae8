//go:build linux && (amd64 || arm64)

package contain

import "golang.org/x/sys/unix"

// The system calls Policy.DenySyscalls refuses, by class. The model is a
// denylist over a reviewed table (see the package doc, "The system call
// filter"): every number up to lastReviewed was looked at; what is not
// listed here is allowed; every number above lastReviewed fails with
// ENOSYS, as on an older kernel, until someone reviews it.
//
// The list is Docker's default profile's refusals for a process without
// capabilities (its CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_SYS_PTRACE,
// CAP_SYS_RAWIO, CAP_SYS_TIME, CAP_SYS_BOOT, CAP_SYS_CHROOT, CAP_SYS_PACCT,
// CAP_SYS_NICE, CAP_SYSLOG, CAP_BPF, CAP_PERFMON and
// CAP_DAC_READ_SEARCH groups and the calls it never lists), plus what the
// sandbox adds: no exec after the child's start, name_to_handle_at,
// ptrace (Docker allows it on kernels from 4.8), modify_ldt and the
// obsolete calls systemd's @obsolete and @cpu-emulation name.
var commonRules = []rule{
	// A program of its own: the child was started by exec; nothing after.
	{name: "execve", nr: unix.SYS_EXECVE, class: "exec"},
	{name: "execveat", nr: unix.SYS_EXECVEAT, class: "exec"},
	{name: "memfd_create", nr: unix.SYS_MEMFD_CREATE, class: "exec", test: argTest{arg: 1, anyBit: unix.MFD_EXEC}},

	// The kernel keyring holds the host user's secrets (@u is per uid).
	{name: "add_key", nr: unix.SYS_ADD_KEY, class: "keyring"},
	{name: "keyctl", nr: unix.SYS_KEYCTL, class: "keyring"},
	{name: "request_key", nr: unix.SYS_REQUEST_KEY, class: "keyring"},

	{name: "bpf", nr: unix.SYS_BPF, class: "bpf"},
	{name: "perf_event_open", nr: unix.SYS_PERF_EVENT_OPEN, class: "perf"},
	{name: "userfaultfd", nr: unix.SYS_USERFAULTFD, class: "userfaultfd"},

	// Namespaces: a user namespace hands out every capability inside it,
	// and with them the kernel's privileged code paths.
	{name: "unshare", nr: unix.SYS_UNSHARE, class: "namespaces"},
	{name: "setns", nr: unix.SYS_SETNS, class: "namespaces"},
	{name: "listns", nr: unix.SYS_LISTNS, class: "namespaces"},
	{name: "clone", nr: unix.SYS_CLONE, class: "namespaces", test: argTest{arg: 0, anyBit: cloneNewNamespaces}},
	// clone3's flags are in memory a filter cannot read: ENOSYS makes
	// glibc, musl and Rust fall back to clone, whose flags it can.
	{name: "clone3", nr: unix.SYS_CLONE3, class: "namespaces", errno: unix.ENOSYS},

	{name: "mount", nr: unix.SYS_MOUNT, class: "mount"},
	{name: "umount2", nr: unix.SYS_UMOUNT2, class: "mount"},
	{name: "pivot_root", nr: unix.SYS_PIVOT_ROOT, class: "mount"},
	{name: "chroot", nr: unix.SYS_CHROOT, class: "mount"},
	{name: "fsopen", nr: unix.SYS_FSOPEN, class: "mount"},
	{name: "fsconfig", nr: unix.SYS_FSCONFIG, class: "mount"},
	{name: "fsmount", nr: unix.SYS_FSMOUNT, class: "mount"},
	{name: "fspick", nr: unix.SYS_FSPICK, class: "mount"},
	{name: "move_mount", nr: unix.SYS_MOVE_MOUNT, class: "mount"},
	{name: "open_tree", nr: unix.SYS_OPEN_TREE, class: "mount"},
	{name: "open_tree_attr", nr: unix.SYS_OPEN_TREE_ATTR, class: "mount"},
	{name: "mount_setattr", nr: unix.SYS_MOUNT_SETATTR, class: "mount"},

	// Another process's memory, descriptors or tracing.
	{name: "ptrace", nr: unix.SYS_PTRACE, class: "ptrace"},
	{name: "process_vm_readv", nr: unix.SYS_PROCESS_VM_READV, class: "ptrace"},
	{name: "process_vm_writev", nr: unix.SYS_PROCESS_VM_WRITEV, class: "ptrace"},
	{name: "process_madvise", nr: unix.SYS_PROCESS_MADVISE, class: "ptrace"},
	{name: "kcmp", nr: unix.SYS_KCMP, class: "ptrace"},
	{name: "pidfd_getfd", nr: unix.SYS_PIDFD_GETFD, class: "ptrace"},

	{name: "kexec_load", nr: unix.SYS_KEXEC_LOAD, class: "kexec"},
	{name: "kexec_file_load", nr: unix.SYS_KEXEC_FILE_LOAD, class: "kexec"},
	{name: "reboot", nr: unix.SYS_REBOOT, class: "kexec"},

	{name: "init_module", nr: unix.SYS_INIT_MODULE, class: "modules"},
	{name: "finit_module", nr: unix.SYS_FINIT_MODULE, class: "modules"},
	{name: "delete_module", nr: unix.SYS_DELETE_MODULE, class: "modules"},

	// Only the values Docker allows: the plain Linux persona, PER_LINUX32,
	// UNAME26 and the query. READ_IMPLIES_EXEC and ADDR_NO_RANDOMIZE are
	// what an exploit wants.
	{name: "personality", nr: unix.SYS_PERSONALITY, class: "personality", test: argTest{arg: 0, allowed: []uint32{0, 0x8, 0x20000, 0x20008, 0xffffffff}}},

	// File handles open any file of a mount by number, around paths (and
	// so around Landlock).
	{name: "name_to_handle_at", nr: unix.SYS_NAME_TO_HANDLE_AT, class: "file handles"},
	{name: "open_by_handle_at", nr: unix.SYS_OPEN_BY_HANDLE_AT, class: "file handles"},

	// File metadata by path or by a descriptor opened for reading:
	// Landlock restricts none of it, and the child runs as the host's uid,
	// which owns the host's files, so chmod alone would let a plugin make
	// a system binary setuid or a secret world-readable anywhere. A mode
	// of the owner's bits only stays allowed (a plugin, or this module's
	// own verified copy, makes its file read-only or executable).
	{name: "fchmod", nr: unix.SYS_FCHMOD, class: "file metadata", test: argTest{arg: 1, anyBit: notOwnerBits}},
	{name: "fchmodat", nr: unix.SYS_FCHMODAT, class: "file metadata", test: argTest{arg: 2, anyBit: notOwnerBits}},
	{name: "fchmodat2", nr: unix.SYS_FCHMODAT2, class: "file metadata", test: argTest{arg: 2, anyBit: notOwnerBits}},
	{name: "fchown", nr: unix.SYS_FCHOWN, class: "file metadata"},
	{name: "fchownat", nr: unix.SYS_FCHOWNAT, class: "file metadata"},
	{name: "setxattr", nr: unix.SYS_SETXATTR, class: "file metadata"},
	{name: "lsetxattr", nr: unix.SYS_LSETXATTR, class: "file metadata"},
	{name: "fsetxattr", nr: unix.SYS_FSETXATTR, class: "file metadata"},
	{name: "setxattrat", nr: unix.SYS_SETXATTRAT, class: "file metadata"},
	{name: "removexattr", nr: unix.SYS_REMOVEXATTR, class: "file metadata"},
	{name: "lremovexattr", nr: unix.SYS_LREMOVEXATTR, class: "file metadata"},
	{name: "fremovexattr", nr: unix.SYS_FREMOVEXATTR, class: "file metadata"},
	{name: "removexattrat", nr: unix.SYS_REMOVEXATTRAT, class: "file metadata"},
	{name: "file_setattr", nr: unix.SYS_FILE_SETATTR, class: "file metadata"},

	{name: "settimeofday", nr: unix.SYS_SETTIMEOFDAY, class: "clock"},
	{name: "clock_settime", nr: unix.SYS_CLOCK_SETTIME, class: "clock"},

	{name: "swapon", nr: unix.SYS_SWAPON, class: "swap"},
	{name: "swapoff", nr: unix.SYS_SWAPOFF, class: "swap"},

	// Memory placement across NUMA nodes (CAP_SYS_NICE in Docker's
	// profile); libnuma takes a refusal for "no NUMA".
	{name: "mbind", nr: unix.SYS_MBIND, class: "numa"},
	{name: "set_mempolicy", nr: unix.SYS_SET_MEMPOLICY, class: "numa"},
	{name: "get_mempolicy", nr: unix.SYS_GET_MEMPOLICY, class: "numa"},
	{name: "set_mempolicy_home_node", nr: unix.SYS_SET_MEMPOLICY_HOME_NODE, class: "numa"},
	{name: "migrate_pages", nr: unix.SYS_MIGRATE_PAGES, class: "numa"},
	{name: "move_pages", nr: unix.SYS_MOVE_PAGES, class: "numa"},

	// The host's administration.
	{name: "acct", nr: unix.SYS_ACCT, class: "admin"},
	{name: "quotactl", nr: unix.SYS_QUOTACTL, class: "admin"},
	{name: "quotactl_fd", nr: unix.SYS_QUOTACTL_FD, class: "admin"},
	{name: "sethostname", nr: unix.SYS_SETHOSTNAME, class: "admin"},
	{name: "setdomainname", nr: unix.SYS_SETDOMAINNAME, class: "admin"},
	{name: "syslog", nr: unix.SYS_SYSLOG, class: "admin"},
	{name: "vhangup", nr: unix.SYS_VHANGUP, class: "admin"},
	{name: "fanotify_init", nr: unix.SYS_FANOTIFY_INIT, class: "admin"},

	{name: "lookup_dcookie", nr: unix.SYS_LOOKUP_DCOOKIE, class: "obsolete"},
	{name: "nfsservctl", nr: unix.SYS_NFSSERVCTL, class: "obsolete"},

	// Kernel attack surface that bypasses this very filter (io_uring runs
	// its operations without system calls); ENOSYS: libraries fall back.
	{name: "io_uring_setup", nr: unix.SYS_IO_URING_SETUP, class: "io_uring", errno: unix.ENOSYS},
	{name: "io_uring_enter", nr: unix.SYS_IO_URING_ENTER, class: "io_uring", errno: unix.ENOSYS},
	{name: "io_uring_register", nr: unix.SYS_IO_URING_REGISTER, class: "io_uring", errno: unix.ENOSYS},
}

// lastReviewed is the highest system call number this table was written
// against (linux 6.18's listns is 470, rseq_slice_yield 471; amd64 and
// arm64 share the numbers from 424 on). Higher numbers fail with ENOSYS.
const lastReviewed = unix.SYS_RSEQ_SLICE_YIELD

// cloneNewNamespaces are the clone(2) flags that make namespaces
// (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET).
const cloneNewNamespaces = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// notOwnerBits are the mode bits a chmod may not set: setuid, setgid,
// sticky, and every permission of the group and of others.
const notOwnerBits = unix.S_ISUID | unix.S_ISGID | unix.S_ISVTX | 0o077

// syscallRules is the table for this architecture.
func syscallRules() []rule { return append(append([]rule(nil), commonRules...), archRules...) }

// socketRules are Policy.DenySockets' refusals.
func socketRules() []rule {
	return []rule{
		{name: "socket", nr: unix.SYS_SOCKET, class: "sockets", errno: unix.EACCES},
		// socketpair(AF_UNIX) makes two connected sockets that reach
		// nothing outside the process: allowed, as a pipe would be.
		{name: "socketpair", nr: unix.SYS_SOCKETPAIR, class: "sockets", errno: unix.EACCES, test: argTest{arg: 0, allowed: []uint32{unix.AF_UNIX}}},
		// io_uring can create and connect sockets without socket(2)
		// (IORING_OP_SOCKET); ENOSYS makes libraries fall back to plain calls.
		{name: "io_uring_setup", nr: unix.SYS_IO_URING_SETUP, class: "sockets", errno: unix.ENOSYS},
		{name: "io_uring_enter", nr: unix.SYS_IO_URING_ENTER, class: "sockets", errno: unix.ENOSYS},
		{name: "io_uring_register", nr: unix.SYS_IO_URING_REGISTER, class: "sockets", errno: unix.ENOSYS},
	}
}
