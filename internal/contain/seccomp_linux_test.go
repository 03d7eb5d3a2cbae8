//go:build linux && (amd64 || arm64)

package contain_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/clawd-go/clawd/internal/contain"
)

// A syscallProbe is one thing a hostile plugin tries, made so that it does
// not replace or harm the probing child whatever the kernel says: its
// result is the errno, 0 for success.
type syscallProbe struct {
	name string
	try  func() unix.Errno
}

// keyName names the keys the tests put in the host's keyrings.
const keyName = "clawd-test-secret"

func raw(nr uintptr, a ...uintptr) unix.Errno {
	var v [6]uintptr
	copy(v[:], a)
	_, _, e := unix.Syscall6(nr, v[0], v[1], v[2], v[3], v[4], v[5])
	return e
}

func ptr[T any](p *T) uintptr { return uintptr(unsafe.Pointer(p)) }

func cstr(s string) *byte { b, _ := unix.BytePtrFromString(s); return b }

// keyring ids are negative ints, passed as the kernel reads them.
func ring(id int) uintptr { return uintptr(id) }

// syscallProbes are the attacks the filter must refuse, in order. The
// comment of each says what the kernel answers without the filter.
func syscallProbes() []syscallProbe {
	var buf [256]byte
	probes := []syscallProbe{
		// The host's key in the per-uid user keyring: found (0).
		{"keyctl search @u", func() unix.Errno {
			return raw(unix.SYS_KEYCTL, unix.KEYCTL_SEARCH, ring(unix.KEY_SPEC_USER_KEYRING), ptr(cstr("user")), ptr(cstr(keyName)), 0)
		}},
		// The host's key through the session keyring: ENOKEY in a new one.
		{"keyctl search @s", func() unix.Errno {
			return raw(unix.SYS_KEYCTL, unix.KEYCTL_SEARCH, ring(unix.KEY_SPEC_SESSION_KEYRING), ptr(cstr("user")), ptr(cstr(keyName)), 0)
		}},
		{"keyctl read @u", func() unix.Errno {
			return raw(unix.SYS_KEYCTL, unix.KEYCTL_READ, ring(unix.KEY_SPEC_USER_KEYRING), ptr(&buf[0]), uintptr(len(buf)))
		}},
		{"add_key", func() unix.Errno {
			return raw(unix.SYS_ADD_KEY, ptr(cstr("user")), ptr(cstr("clawd-probe")), ptr(&buf[0]), 1, ring(unix.KEY_SPEC_SESSION_KEYRING))
		}},
		// ENOKEY.
		{"request_key", func() unix.Errno {
			return raw(unix.SYS_REQUEST_KEY, ptr(cstr("user")), ptr(cstr("clawd-probe-absent")), 0, 0)
		}},
		// A descriptor (kernel 6.3 on).
		{"memfd_create MFD_EXEC", func() unix.Errno {
			fd, err := unix.MemfdCreate("probe", unix.MFD_CLOEXEC|unix.MFD_EXEC)
			if err == nil {
				unix.Close(fd)
			}
			return errnoOf2(err)
		}},
		// ENOENT: the filter refuses before the path is looked at.
		{"execve", func() unix.Errno {
			argv := []*byte{cstr("clawd"), nil}
			return raw(unix.SYS_EXECVE, ptr(cstr("/nonexistent/clawd")), ptr(&argv[0]), ptr(&argv[1]))
		}},
		// EBADF.
		{"execveat", func() unix.Errno {
			argv := []*byte{cstr("clawd"), nil}
			return raw(unix.SYS_EXECVEAT, ring(-1), ptr(cstr("")), ptr(&argv[0]), ptr(&argv[1]), unix.AT_EMPTY_PATH)
		}},
		// E2BIG: an attribute size past a page fails before any other check.
		{"bpf", func() unix.Errno { return raw(unix.SYS_BPF, unix.BPF_MAP_CREATE, ptr(&buf[0]), 1<<20) }},
		// EFAULT: the attribute is read first.
		{"perf_event_open", func() unix.Errno { return raw(unix.SYS_PERF_EVENT_OPEN, 0, 0, ring(-1), ring(-1), 0) }},
		// A descriptor for user-mode faults only, which needs no privilege.
		{"userfaultfd", func() unix.Errno {
			fd, _, e := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|uffdUserModeOnly, 0, 0)
			if e == 0 {
				unix.Close(int(fd))
			}
			return e
		}},
		// 0: unsharing nothing succeeds.
		{"unshare", func() unix.Errno { return raw(unix.SYS_UNSHARE, 0) }},
		// EBADF.
		{"setns", func() unix.Errno { return raw(unix.SYS_SETNS, ring(-1), 0) }},
		// EFAULT: the strings are copied first.
		{"mount", func() unix.Errno { return raw(unix.SYS_MOUNT, 1, 1, 1, 0, 0) }},
		// ESRCH: this process is not being traced.
		{"ptrace", func() unix.Errno { return raw(unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, uintptr(os.Getpid()), 0, 0) }},
		// EPERM without CAP_SYS_BOOT too: the filter only makes it certain.
		{"kexec_load", func() unix.Errno { return raw(unix.SYS_KEXEC_LOAD, 0, 0, 0, 0) }},
		// EPERM without CAP_SYS_MODULE too.
		{"init_module", func() unix.Errno { return raw(unix.SYS_INIT_MODULE, 0, 0, ptr(cstr(""))) }},
		// The old persona (0): a change the kernel lets anyone make.
		{"personality READ_IMPLIES_EXEC", func() unix.Errno { return raw(unix.SYS_PERSONALITY, 0x0400000) }},
		{"personality ADDR_NO_RANDOMIZE", func() unix.Errno { return raw(unix.SYS_PERSONALITY, 0x0040000) }},
		// EOVERFLOW: a zero-sized handle asks for the size it needs.
		{"name_to_handle_at", func() unix.Errno {
			var h [8]byte // struct file_handle: handle_bytes = 0, handle_type
			var mnt int32
			return raw(unix.SYS_NAME_TO_HANDLE_AT, ring(unix.AT_FDCWD), ptr(cstr("/")), ptr(&h[0]), ptr(&mnt), 0)
		}},
		// EBADF or EPERM, as the kernel sees it.
		{"open_by_handle_at", func() unix.Errno {
			var h [16]byte
			h[0] = 8 // handle_bytes
			return raw(unix.SYS_OPEN_BY_HANDLE_AT, ring(-1), ptr(&h[0]), unix.O_RDONLY)
		}},
		// EINVAL: CLONE_NEWUSER with CLONE_FS is refused before a process
		// is made.
		{"clone CLONE_NEWUSER", func() unix.Errno { return raw(unix.SYS_CLONE, unix.CLONE_NEWUSER|unix.CLONE_FS) }},
		// 0: the child owns the host's files (it runs as the host's uid),
		// and Landlock does not restrict modes. The probe sets its own
		// executable's mode to what it is, which has group and other bits
		// (TestSyscallsDenied checks): a mode the filter refuses.
		{"chmod", func() unix.Errno {
			exe, st := ownExe()
			return raw(unix.SYS_FCHMODAT, ring(unix.AT_FDCWD), ptr(cstr(exe)), uintptr(st.Mode&0o7777), 0)
		}},
		// 0: a descriptor opened for reading is enough.
		{"fchmod", func() unix.Errno {
			exe, st := ownExe()
			fd, err := unix.Open(exe, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return errnoOf2(err)
			}
			defer unix.Close(fd)
			return raw(unix.SYS_FCHMOD, uintptr(fd), uintptr(st.Mode&0o7777))
		}},
		// 0: a chown that changes nothing.
		{"chown", func() unix.Errno {
			exe, _ := ownExe()
			return raw(unix.SYS_FCHOWNAT, ring(unix.AT_FDCWD), ptr(cstr(exe)), ring(-1), ring(-1), 0)
		}},
		// ENODATA: the attribute is not there to remove.
		{"removexattr", func() unix.Errno {
			exe, _ := ownExe()
			return raw(unix.SYS_REMOVEXATTR, ptr(cstr(exe)), ptr(cstr("user.clawd-absent")))
		}},
		// EINVAL: no arguments.
		{"clone3", func() unix.Errno { return raw(unix.SYS_CLONE3, 0, 0) }},
		// EINVAL: no arguments.
		{"process_vm_readv", func() unix.Errno {
			return raw(unix.SYS_PROCESS_VM_READV, uintptr(os.Getpid()), 0, 0, 0, 0, 1)
		}},
	}
	return append(probes, archProbes()...)
}

// requireGroupBits checks that the test binary, whose mode the chmod
// probes set again, has group or other bits: a mode the filter refuses.
func requireGroupBits(t *testing.T) {
	t.Helper()
	st, err := os.Stat(os.Args[0])
	require.NoError(t, err)
	require.NotZero(t, st.Mode().Perm()&0o077, "mode %v of %s", st.Mode(), os.Args[0])
}

// ownExe is this process's executable and its status.
func ownExe() (string, unix.Stat_t) {
	var st unix.Stat_t
	exe, _ := os.Executable()
	_ = unix.Stat(exe, &st)
	return exe, st
}

func errnoOf2(err error) unix.Errno {
	if err == nil {
		return 0
	}
	e, ok := err.(unix.Errno)
	if !ok {
		return unix.EIO
	}
	return e
}

// allowedProbes must work under the filter: what the Go runtime, glibc and
// ordinary plugins do.
func allowedProbes() []syscallProbe {
	return []syscallProbe{
		{"getpid", func() unix.Errno { return raw(unix.SYS_GETPID) }},
		{"personality query", func() unix.Errno { return raw(unix.SYS_PERSONALITY, 0xffffffff) }},
		{"personality PER_LINUX", func() unix.Errno { return raw(unix.SYS_PERSONALITY, 0) }},
		{"memfd_create", func() unix.Errno {
			fd, err := unix.MemfdCreate("probe", unix.MFD_CLOEXEC|unix.MFD_NOEXEC_SEAL)
			if err == nil {
				unix.Close(fd)
			}
			return errnoOf2(err)
		}},
		// A mode of the owner's bits only, on a file of its own.
		{"fchmod 0600", func() unix.Errno {
			fd, err := unix.MemfdCreate("probe", unix.MFD_CLOEXEC)
			if err != nil {
				return errnoOf2(err)
			}
			defer unix.Close(fd)
			return raw(unix.SYS_FCHMOD, uintptr(fd), 0o600)
		}},
		{"socketpair unix", func() unix.Errno {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err == nil {
				unix.Close(fds[0])
				unix.Close(fds[1])
			}
			return errnoOf2(err)
		}},
	}
}

// syscallsChild runs the probes in the child: the denied ones, then the
// allowed ones.
func syscallsChild() result {
	var res result
	for _, p := range append(syscallProbes(), allowedProbes()...) {
		res.Errnos = append(res.Errnos, int(p.try()))
		res.Lines = append(res.Lines, p.name)
	}
	return res
}

// hostKeys puts a key named keyName into the host's session and user
// keyrings, as a user's login would hold a secret, and removes both when
// the test ends.
func hostKeys(t *testing.T) {
	t.Helper()
	// A keyring reference belongs to the calling thread's credentials: adding
	// to a session keyring this thread lacks makes one for this thread only,
	// and a child forked from another thread would not see the key. The
	// test stays on this thread until it ends, its children forked from it.
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	for _, ring := range []int{unix.KEY_SPEC_SESSION_KEYRING, unix.KEY_SPEC_USER_KEYRING} {
		id, err := unix.AddKey("user", keyName, []byte("hunter2"), ring)
		require.NoError(t, err, "add a key to keyring %d", ring)
		t.Cleanup(func() { _, _ = unix.KeyctlInt(unix.KEYCTL_INVALIDATE, id, 0, 0, 0) })
	}
}

// deniedPolicy is the sandbox's policy with the filter on, or with no
// filter at all.
func deniedPolicy(t *testing.T, deny bool) contain.Policy {
	p := socketPolicy(t, deny)
	p.DenySyscalls = deny
	return p
}

func TestSyscallsDenied(t *testing.T) {
	hostKeys(t)
	requireGroupBits(t)
	res := runConfined(t, deniedPolicy(t, true), "syscalls")
	probes, allowed := syscallProbes(), allowedProbes()
	require.Len(t, res.Errnos, len(probes)+len(allowed))
	for i, p := range probes {
		want := unix.EPERM
		if p.name == "clone3" {
			want = unix.ENOSYS // glibc, musl and Rust fall back to clone
		}
		require.Equal(t, want, unix.Errno(res.Errnos[i]), "%s: errno %v", p.name, unix.Errno(res.Errnos[i]))
	}
	for i, p := range allowed {
		require.Zero(t, res.Errnos[len(probes)+i], "%s: errno %v", p.name, unix.Errno(res.Errnos[len(probes)+i]))
	}
	rep := runConfined(t, deniedPolicy(t, true), "report").Report
	require.Equal(t, len(contain.SyscallRules()), rep.Syscalls)
	require.True(t, rep.SessionKeyring)
	require.Contains(t, rep.String(), fmt.Sprintf("seccomp: %d syscalls denied (exec, keyring, bpf, perf, userfaultfd, namespaces, mount, ptrace, kexec, modules, personality, file handles, ", rep.Syscalls))
	require.Contains(t, rep.String(), "own session keyring, no sockets (seccomp), netns, ipcns, no capabilities")
	require.Equal(t, *rep, contain.Probe(deniedPolicy(t, true)), "Probe foresees the filter")
}

// TestSyscallsAllowed is the counter-proof: without the filter the same
// probes reach the kernel, which answers each its own way. Most of them
// succeed or fail on their arguments, not on a permission; the host's
// user keyring is reachable (hence the filter) but its session keyring is
// not (the child has a new one either way).
func TestSyscallsAllowed(t *testing.T) {
	hostKeys(t)
	res := runConfined(t, deniedPolicy(t, false), "syscalls")
	got := map[string]unix.Errno{}
	for i, name := range res.Lines {
		got[name] = unix.Errno(res.Errnos[i])
	}
	want := map[string]unix.Errno{
		"keyctl search @u": 0, "keyctl search @s": unix.ENOKEY, "keyctl read @u": 0,
		"add_key": 0, "request_key": unix.ENOKEY,
		"memfd_create MFD_EXEC": 0, "execve": unix.ENOENT, "execveat": unix.EBADF,
		"bpf": unix.E2BIG, "perf_event_open": unix.EFAULT, "userfaultfd": 0,
		"unshare": 0, "setns": unix.EBADF, "mount": unix.EFAULT, "ptrace": unix.ESRCH,
		// Refused for want of a capability, or absent from this kernel
		// (ENOSYS): under the filter EPERM is the filter's either way,
		// and where the kernel lacks the call, only the filter's.
		"kexec_load": unix.EPERM, "init_module": unix.EPERM,
		"personality READ_IMPLIES_EXEC": 0, "personality ADDR_NO_RANDOMIZE": 0,
		"name_to_handle_at": unix.EOVERFLOW, "open_by_handle_at": unix.EBADF,
		"clone CLONE_NEWUSER": unix.EINVAL, "process_vm_readv": unix.EINVAL,
		"clone3": unix.EINVAL,
		"chmod":  0, "fchmod": 0, "chown": 0, "removexattr": unix.ENODATA,
	}
	for name, e := range archAllowed() {
		want[name] = e
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("no probe %q", name)
		}
	}
	for name, e := range got {
		if w, ok := want[name]; ok && w != e && !(e == unix.ENOSYS && absentHere[name]) {
			t.Errorf("%s: errno %v, want %v", name, e, w)
		}
	}
	for _, p := range allowedProbes() {
		require.Zero(t, got[p.name], p.name)
	}
}

// absentHere names the calls a kernel may be built without (kexec,
// modules, port I/O, the x32 ABI): ENOSYS is then its own answer.
var absentHere = map[string]bool{"kexec_load": true, "init_module": true, "iopl": true, "x32 keyctl": true}

// TestSessionKeyringFresh: the child's session keyring is a new, empty one
// even without the filter; an unconfined child (the counter-proof) finds
// the host's key through its session keyring.
func TestSessionKeyringFresh(t *testing.T) {
	hostKeys(t)
	res := runConfined(t, contain.Policy{Landlock: true}, "keyring")
	require.Equal(t, []int{int(unix.ENOKEY)}, res.Errnos, "the host's key through @s")
	require.True(t, res.Report.SessionKeyring, "%v", res.Report)

	plain := childCmd(t, "", "keyring", nil)
	out, err := plain.Output()
	require.NoError(t, err)
	require.Contains(t, string(out), `"errnos":[0]`, "the unconfined child reaches the host's key")
}

// keyringChild searches the session keyring for the host's key.
func keyringChild() result {
	r, _ := contain.Applied()
	return result{Errnos: []int{int(probeNamed("keyctl search @s").try())}, Report: &r}
}

// TestSyscallFilterProgram runs the assembled program on chosen inputs:
// what the kernel would decide for each.
func TestSyscallFilterProgram(t *testing.T) {
	prog, err := contain.SyscallFilter()
	require.NoError(t, err)
	t.Logf("%d instructions", len(prog))
	arch := uint32(contain.AuditArch)
	eperm, enosys := uint32(0x50000|uint32(unix.EPERM)), uint32(0x50000|uint32(unix.ENOSYS))
	allow := uint32(unix.SECCOMP_RET_ALLOW)
	for _, r := range contain.SyscallRules() {
		want := eperm
		if r.Errno == unix.ENOSYS {
			want = enosys
		}
		// personality(READ_IMPLIES_EXEC), memfd_create(MFD_EXEC) and
		// clone(CLONE_NEWUSER) are refused; their benign forms below.
		args := [6]uint64{0x0400000, unix.MFD_EXEC, unix.CLONE_NEWUSER}
		switch r.Name {
		case "personality", "clone":
			args = [6]uint64{args[0] | args[2]}
		case "memfd_create":
			args = [6]uint64{0, unix.MFD_EXEC}
		case "chmod", "fchmod": // a setuid mode
			args = [6]uint64{0, 0o4755}
		case "fchmodat", "fchmodat2":
			args = [6]uint64{0, 0, 0o4755}
		}
		require.Equal(t, want, runBPF(t, prog, arch, r.Nr, args), r.Name)
	}
	for _, c := range []struct {
		name string
		nr   uint32
		args [6]uint64
		want uint32
	}{
		{"getpid", unix.SYS_GETPID, [6]uint64{}, allow},
		{"personality(PER_LINUX32)", unix.SYS_PERSONALITY, [6]uint64{8}, allow},
		{"personality(query)", unix.SYS_PERSONALITY, [6]uint64{0xffffffff}, allow},
		{"personality(UNAME26|PER_LINUX32)", unix.SYS_PERSONALITY, [6]uint64{0x20008}, allow},
		{"personality(ADDR_NO_RANDOMIZE)", unix.SYS_PERSONALITY, [6]uint64{0x0040000}, eperm},
		{"clone(thread)", unix.SYS_CLONE, [6]uint64{unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD | unix.CLONE_SYSVSEM}, allow},
		{"clone(fork)", unix.SYS_CLONE, [6]uint64{uint64(unix.SIGCHLD)}, allow},
		{"clone(CLONE_NEWNET)", unix.SYS_CLONE, [6]uint64{unix.CLONE_NEWNET}, eperm},
		{"clone(CLONE_NEWNS)", unix.SYS_CLONE, [6]uint64{unix.CLONE_NEWNS | uint64(unix.SIGCHLD)}, eperm},
		{"memfd_create(MFD_NOEXEC_SEAL)", unix.SYS_MEMFD_CREATE, [6]uint64{0, unix.MFD_NOEXEC_SEAL | unix.MFD_CLOEXEC}, allow},
		{"memfd_create(0)", unix.SYS_MEMFD_CREATE, [6]uint64{}, allow},
		{"memfd_create(MFD_EXEC|MFD_ALLOW_SEALING)", unix.SYS_MEMFD_CREATE, [6]uint64{0, unix.MFD_EXEC | unix.MFD_ALLOW_SEALING}, eperm},
		{"past the reviewed table", contain.LastReviewed + 1, [6]uint64{}, enosys},
		{"the last reviewed", contain.LastReviewed, [6]uint64{}, allow},
		{"fchmodat(0500)", unix.SYS_FCHMODAT, [6]uint64{0, 0, 0o500}, allow},
		{"fchmodat(0700)", unix.SYS_FCHMODAT, [6]uint64{0, 0, 0o700}, allow},
		{"fchmodat(0644)", unix.SYS_FCHMODAT, [6]uint64{0, 0, 0o644}, eperm},
		{"fchmodat(0701)", unix.SYS_FCHMODAT, [6]uint64{0, 0, 0o701}, eperm},
		{"fchmodat(02700)", unix.SYS_FCHMODAT, [6]uint64{0, 0, 0o2700}, eperm},
		{"fchmodat2(01700)", unix.SYS_FCHMODAT2, [6]uint64{0, 0, 0o1700}, eperm},
		{"fchmod(0600)", unix.SYS_FCHMOD, [6]uint64{0, 0o600}, allow},
		{"fchmod(0660)", unix.SYS_FCHMOD, [6]uint64{0, 0o660}, eperm},
		{"socketpair(AF_UNIX)", unix.SYS_SOCKETPAIR, [6]uint64{unix.AF_UNIX}, allow},
		{"socketpair(AF_INET)", unix.SYS_SOCKETPAIR, [6]uint64{unix.AF_INET}, 0x50000 | uint32(unix.EACCES)},
	} {
		require.Equal(t, c.want, runBPF(t, prog, arch, c.nr, c.args), c.name)
	}
	// Another arch value (i386 by int 0x80 on amd64, arm32 on arm64):
	// everything refused, even what the native table allows.
	require.Equal(t, eperm, runBPF(t, prog, arch^1, unix.SYS_GETPID, [6]uint64{}), "foreign arch")
	for _, c := range archFilterCases() {
		require.Equal(t, c.want, runBPF(t, prog, arch, c.nr, c.args), c.name)
	}
}

type filterCase struct {
	name string
	nr   uint32
	args [6]uint64
	want uint32
}

// runBPF is a classic BPF interpreter for the instructions the filter
// uses, over a struct seccomp_data (little-endian).
func runBPF(t *testing.T, prog []unix.SockFilter, arch, nr uint32, args [6]uint64) uint32 {
	t.Helper()
	action, steps := stepBPF(t, prog, arch, nr, args)
	// The search by halves: no path runs more than this, however many
	// rules there are (header, search, leaf, argument block, return).
	require.LessOrEqual(t, steps, maxSteps, "call %d: %d instructions run", nr, steps)
	return action
}

// maxSteps bounds the instructions any one call runs through the filter.
const maxSteps = 24

// stepBPF is runBPF's interpreter: the action and how many instructions
// it ran.
func stepBPF(t *testing.T, prog []unix.SockFilter, arch, nr uint32, args [6]uint64) (uint32, int) {
	t.Helper()
	data := make([]byte, 64)
	le := func(off int, v uint64, n int) {
		for i := range n {
			data[off+i] = byte(v >> (8 * i))
		}
	}
	le(0, uint64(nr), 4)
	le(4, uint64(arch), 4)
	for i, a := range args {
		le(16+8*i, a, 8)
	}
	var acc uint32
	for pc, steps := 0, 1; pc < len(prog); pc, steps = pc+1, steps+1 {
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			require.LessOrEqual(t, int(in.K)+4, len(data), "load at %d", pc)
			acc = uint32(data[in.K]) | uint32(data[in.K+1])<<8 | uint32(data[in.K+2])<<16 | uint32(data[in.K+3])<<24
		case unix.BPF_RET | unix.BPF_K:
			return in.K, steps
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var cond bool
			switch in.Code &^ (unix.BPF_JMP | unix.BPF_K) {
			case unix.BPF_JEQ:
				cond = acc == in.K
			case unix.BPF_JGE:
				cond = acc >= in.K
			case unix.BPF_JGT:
				cond = acc > in.K
			case unix.BPF_JSET:
				cond = acc&in.K != 0
			}
			if cond {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		default:
			t.Fatalf("instruction %d: code %#x", pc, in.Code)
		}
	}
	t.Fatal("the program ends without a return")
	return 0, 0
}

func TestSyscallRulesDistinct(t *testing.T) {
	seen := map[uint32]string{}
	for _, r := range contain.SyscallRules() {
		require.NotContains(t, seen, r.Nr, "%s and %s share a number", r.Name, seen[r.Nr])
		seen[r.Nr] = r.Name
		require.LessOrEqual(t, r.Nr, uint32(contain.LastReviewed), r.Name)
		require.False(t, strings.ContainsAny(r.Class, ",()"), "class %q prints in the report's list", r.Class)
	}
}

// uffdUserModeOnly is UFFD_USER_MODE_ONLY (linux/userfaultfd.h).
const uffdUserModeOnly = 1

// timedChild makes n getpid calls (which the kernel's seccomp action cache
// lets past the filter without running it) and n personality queries
// (which depend on an argument, so the filter runs) and reports the
// nanoseconds each took.
func timedChild(n int) result {
	res := result{Limits: map[string]uint64{}}
	start := time.Now()
	for range n {
		unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0)
	}
	res.Limits["getpid"] = uint64(time.Since(start).Nanoseconds())
	start = time.Now()
	for range n {
		unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
	}
	res.Limits["personality"] = uint64(time.Since(start).Nanoseconds())
	return res
}

// BenchmarkSyscallFilter measures a system call in a child without a
// filter and in one with the sandbox's (sockets and system calls):
//
//	go test -run '^$' -bench SyscallFilter ./internal/contain/
func BenchmarkSyscallFilter(b *testing.B) {
	for _, c := range []struct {
		name string
		p    contain.Policy
	}{
		{"none", contain.Policy{Landlock: true}},
		{"sandbox", contain.Policy{Landlock: true, DenySockets: true, DenySyscalls: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			res := runConfined(b, c.p, fmt.Sprintf("timed %d", b.N))
			b.ReportMetric(float64(res.Limits["getpid"])/float64(b.N), "ns/getpid")
			b.ReportMetric(float64(res.Limits["personality"])/float64(b.N), "ns/personality")
		})
	}
}

// TestSyscallFilterSweep runs every number from 0 past the reviewed table
// through the program, with zero arguments: a rule's number is refused
// with its errno (an argument rule lets zero through, but socketpair's
// AF_UNSPEC), every other reviewed number is allowed, and every number
// past the table gets ENOSYS.
func TestSyscallFilterSweep(t *testing.T) {
	prog, err := contain.SyscallFilter()
	require.NoError(t, err)
	rules := map[uint32]contain.SyscallRule{}
	for _, r := range contain.SyscallRules() {
		rules[r.Nr] = r
	}
	errno := func(e unix.Errno) uint32 { return 0x50000 | uint32(e) }
	most := 0
	for nr := uint32(0); nr <= contain.LastReviewed+64; nr++ {
		want := uint32(unix.SECCOMP_RET_ALLOW)
		r, ruled := rules[nr]
		switch {
		case nr > contain.LastReviewed:
			want = errno(unix.ENOSYS)
		case nr == unix.SYS_SOCKET || nr == unix.SYS_SOCKETPAIR:
			want = errno(unix.EACCES)
		case ruled && r.Args:
		case ruled && r.Errno != 0:
			want = errno(r.Errno)
		case ruled:
			want = errno(unix.EPERM)
		}
		got, steps := stepBPF(t, prog, uint32(contain.AuditArch), nr, [6]uint64{})
		require.Equal(t, want, got, "call %d (%s)", nr, r.Name)
		most = max(most, steps)
	}
	require.LessOrEqual(t, most, maxSteps)
	t.Logf("%d instructions, at most %d run for one call", len(prog), most)
}

// threadsChild tries execveat from threadCount threads at once, each
// locked on a thread of its own, and reads the seccomp mode of every
// thread of the process (res.NNP: the Seccomp line of each task, 2 for a
// filter) while they all exist: threads the Go runtime started before the
// filter was installed, and those made after.
func threadsChild() result {
	var ready, done sync.WaitGroup
	ready.Add(threadCount)
	done.Add(threadCount)
	release := make(chan struct{})
	res := result{Errnos: make([]int, threadCount)}
	execveat := probeNamed("execveat")
	for i := range threadCount {
		go func() {
			defer done.Done()
			runtime.LockOSThread() // never unlocked: each holds a thread of its own
			ready.Done()
			<-release
			res.Errnos[i] = int(execveat.try())
		}()
	}
	ready.Wait()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		res.Errno = int(errnoOf2(err))
	}
	for _, task := range tasks {
		status, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
		if err != nil {
			res.Errno = int(errnoOf2(err))
			continue
		}
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "Seccomp:"); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				res.NNP = append(res.NNP, n)
			}
		}
	}
	close(release)
	done.Wait()
	return res
}

// TestSyscallFilterEveryThread: the second image installs the filter on
// all its threads at once (TSYNC), so a thread the Go runtime started
// before is as filtered as one started after.
func TestSyscallFilterEveryThread(t *testing.T) {
	res := runConfined(t, deniedPolicy(t, true), "threads-seccomp")
	require.Zero(t, res.Errno)
	for i, e := range res.Errnos {
		require.Equal(t, int(unix.EPERM), e, "execveat on thread %d", i)
	}
	require.GreaterOrEqual(t, len(res.NNP), threadCount+1, "tasks read")
	for i, mode := range res.NNP {
		require.Equal(t, 2, mode, "task %d: seccomp mode", i)
	}
}

func probeNamed(name string) syscallProbe {
	for _, p := range syscallProbes() {
		if p.name == name {
			return p
		}
	}
	panic("no probe " + name)
}
