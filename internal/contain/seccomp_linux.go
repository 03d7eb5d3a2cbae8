package contain

import (
	"cmp"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The seccomp filter of Policy.DenySockets and Policy.DenySyscalls,
// hand-assembled classic BPF (linux/filter.h, linux/seccomp.h). A helper
// that labels jumps keeps it readable without a BPF assembler dependency.
//
// Layout of struct seccomp_data: nr (u32) at 0, arch (u32) at 4, then the
// six arguments as u64 from 16; amd64 and arm64 are little-endian, so an
// argument's low 32 bits (an int argument, such as the address family or
// memfd_create's flags) are at 16+8*i. Every argument the filter reads is
// an int or has its flags in the low half (clone's namespace flags), and
// the kernel reads no more of it than that.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16

	secRetErrno = 0x00050000 // SECCOMP_RET_ERRNO: fail the call with the errno in the low 16 bits
)

// noteNoSeccomp is the note for a kernel without seccomp filters.
const noteNoSeccomp = "the kernel has no seccomp filters: socket(2) and the denied system calls are not restricted"

// A rule is one system call the filter refuses.
type rule struct {
	name  string
	nr    uint32
	class string     // what Report.SyscallClasses calls it
	errno unix.Errno // what the call fails with; 0: EPERM
	test  argTest    // zero: refused whatever its arguments
}

// argTest narrows a rule to some values of one int argument (its low 32
// bits): refused when it has one of the anyBit bits, or when it is none of
// allowed.
type argTest struct {
	arg     int
	anyBit  uint32
	allowed []uint32
}

func (t argTest) zero() bool { return t.anyBit == 0 && t.allowed == nil }

// insn is one instruction with its jump targets named; "" falls through.
type insn struct {
	f      unix.SockFilter
	jt, jf string
	label  string
}

func ld(off uint32) insn {
	return insn{f: unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off}}
}
func ret(k uint32) insn { return insn{f: unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k}} }
func jeq(k uint32, jt, jf string) insn {
	return insn{f: unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: k}, jt: jt, jf: jf}
}
func jge(k uint32, jt, jf string) insn {
	return insn{f: unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, K: k}, jt: jt, jf: jf}
}
func jgt(k uint32, jt, jf string) insn {
	return insn{f: unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K, K: k}, jt: jt, jf: jf}
}
func jset(k uint32, jt, jf string) insn {
	return insn{f: unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, K: k}, jt: jt, jf: jf}
}
func labelled(l string, i insn) insn { i.label = l; return i }

// assemble resolves the labels into the forward offsets BPF jumps take.
func assemble(prog []insn) ([]unix.SockFilter, error) {
	at := map[string]int{}
	for i, in := range prog {
		if in.label != "" {
			if _, dup := at[in.label]; dup {
				return nil, fmt.Errorf("seccomp filter: label %q twice", in.label)
			}
			at[in.label] = i
		}
	}
	out := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		out[i] = in.f
		for _, j := range []struct {
			label string
			off   *uint8
		}{{in.jt, &out[i].Jt}, {in.jf, &out[i].Jf}} {
			if j.label == "" {
				continue
			}
			to, ok := at[j.label]
			if !ok || to <= i || to-i-1 > 255 {
				return nil, fmt.Errorf("seccomp filter: bad jump from %d to %q", i, j.label)
			}
			*j.off = uint8(to - i - 1)
		}
	}
	if len(out) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("seccomp filter: %d instructions, the kernel takes %d", len(out), unix.BPF_MAXINSNS)
	}
	return out, nil
}

// filterRules is what the filter of a child with the given report
// refuses: the socket rules first (they win where both name a call).
func filterRules(sockets, syscalls bool) []rule {
	var rules []rule
	if sockets {
		rules = socketRules()
	}
	if syscalls {
		for _, r := range syscallRules() {
			if !slices.ContainsFunc(rules, func(o rule) bool { return o.nr == r.nr }) {
				rules = append(rules, r)
			}
		}
	}
	return rules
}

// buildFilter is the program for this architecture, or nil where this
// package knows no audit arch value (the filter must check it: a number
// means another call under another arch's table) or nothing is refused.
func buildFilter(sockets, syscalls bool) ([]unix.SockFilter, error) {
	rules := filterRules(sockets, syscalls)
	if auditArch == 0 || len(rules) == 0 {
		return nil, nil
	}
	prog := []insn{
		ld(offArch),
		// Another ABI in the same process (i386 via int 0x80 on amd64):
		// refuse every call rather than learn its numbers.
		jeq(auditArch, "", "EPERM"),
		ld(offNr),
	}
	if x32Bit != 0 {
		// x32 calls carry the amd64 arch value and numbers with this bit.
		prog = append(prog, jge(x32Bit, "EPERM", ""))
	}
	if syscalls {
		// Past the reviewed table: behave as a kernel without the call.
		prog = append(prog, jgt(lastReviewed, "ENOSYS", ""))
	}
	// The rules are searched by halves over their sorted numbers: a call
	// that the kernel's action cache does not answer (one with an argument
	// rule, or any call on a kernel before 5.11) runs about a dozen
	// instructions, not one per rule.
	rules = slices.SortedFunc(slices.Values(rules), func(a, b rule) int { return cmp.Compare(a.nr, b.nr) })
	var blocks []insn
	target := func(r rule) string {
		if r.test.zero() {
			return errnoLabel(r)
		}
		l := fmt.Sprintf("arg%d", r.nr)
		off := uint32(offArg0 + 8*r.test.arg)
		blocks = append(blocks, labelled(l, ld(off)))
		if r.test.anyBit != 0 {
			blocks = append(blocks, jset(r.test.anyBit, errnoLabel(r), "allow"))
			return l
		}
		for j, v := range r.test.allowed {
			if j < len(r.test.allowed)-1 {
				blocks = append(blocks, jeq(v, "allow", ""))
			} else {
				blocks = append(blocks, jeq(v, "allow", errnoLabel(r)))
			}
		}
		return l
	}
	const leaf = 4 // rules compared one by one at the bottom of the search
	var search func(rs []rule, label string)
	search = func(rs []rule, label string) {
		at := len(prog)
		if len(rs) <= leaf {
			for _, r := range rs {
				prog = append(prog, jeq(r.nr, target(r), ""))
			}
			prog = append(prog, ret(unix.SECCOMP_RET_ALLOW))
		} else {
			mid := len(rs) / 2
			upper := fmt.Sprintf("ge%d", rs[mid].nr)
			prog = append(prog, jge(rs[mid].nr, upper, ""))
			search(rs[:mid], "")
			search(rs[mid:], upper)
		}
		prog[at].label = label
	}
	search(rules, "")
	prog = append(prog, blocks...)
	prog = append(prog,
		labelled("allow", ret(unix.SECCOMP_RET_ALLOW)),
		labelled("EPERM", ret(secRetErrno|uint32(unix.EPERM))),
		labelled("EACCES", ret(secRetErrno|uint32(unix.EACCES))),
		labelled("ENOSYS", ret(secRetErrno|uint32(unix.ENOSYS))),
	)
	return assemble(prog)
}

func errnoLabel(r rule) string {
	switch r.errno {
	case 0, unix.EPERM:
		return "EPERM"
	case unix.EACCES:
		return "EACCES"
	case unix.ENOSYS:
		return "ENOSYS"
	}
	panic("contain: no return for errno " + r.errno.Error())
}

// expectFilter fills in what the filter will achieve for p here.
func expectFilter(r *Report, p Policy, netns bool) {
	if p.DenySockets {
		r.NetNS = netns
		if !netns {
			r.Notes = append(r.Notes, "the child shares the host's network namespace: one of its own needs CAP_SYS_ADMIN")
		}
	}
	if !p.DenySockets && !p.DenySyscalls {
		return
	}
	switch {
	case auditArch == 0:
		r.Notes = append(r.Notes, "no seccomp filter on "+runtime.GOARCH+": socket(2) and the denied system calls are not restricted")
	case !kernelHasSeccomp():
		r.Notes = append(r.Notes, noteNoSeccomp)
	default:
		r.Sockets = p.DenySockets
		if p.DenySyscalls {
			r.Syscalls, r.SyscallClasses = len(syscallRules()), syscallClasses()
		}
	}
}

// syscallClasses names the classes of syscallRules, in their order.
func syscallClasses() []string {
	var out []string
	for _, r := range syscallRules() {
		if !slices.Contains(out, r.class) {
			out = append(out, r.class)
		}
	}
	return out
}

// kernelHasSeccomp tells whether /proc/self/status has the Seccomp line of
// a kernel built with seccomp.
func kernelHasSeccomp() bool {
	b, err := os.ReadFile("/proc/self/status")
	return err == nil && strings.Contains(string(b), "\nSeccomp:")
}

// installFilter installs the filter r promises on every thread of this
// process at once (SECCOMP_FILTER_FLAG_TSYNC): the second image calls it
// before anything of the plugin runs, so that its own start by execve
// was allowed and every execve after it is not. no_new_privs, which a
// filter without CAP_SYS_ADMIN needs, came with the execve. It clears
// r.Sockets and r.Syscalls, with a note, on a kernel without seccomp
// filters.
func installFilter(r *Report) error {
	filter, err := buildFilter(r.Sockets, r.Syscalls > 0)
	if err != nil || filter == nil {
		return err
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	// &prog is converted to uintptr in the call expression: it stays valid
	// for the system call, and prog.Filter keeps filter alive.
	tid, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(filter)
	switch {
	case e == 0 && tid == 0:
		return nil
	case e == 0:
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER, TSYNC): thread %d could not take the filter", tid)
	case e == unix.EINVAL || e == unix.ENOSYS: // CONFIG_SECCOMP_FILTER is off
		r.Sockets, r.Syscalls, r.SyscallClasses = false, 0, nil
		r.Notes = append(r.Notes, noteNoSeccomp)
		return nil
	}
	return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER, TSYNC): %v", e)
}

// keyrings tells whether the kernel has keyrings: KEYCTL_GET_KEYRING_ID
// of the thread keyring without creating it fails with ENOKEY there.
func keyrings() bool {
	_, _, e := unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, threadKeyring, 0)
	return e != unix.ENOSYS && e != unix.EOPNOTSUPP
}

// joinSessionKeyring gives the calling thread, which the caller has
// locked, a new anonymous session keyring (KEYCTL_JOIN_SESSION_KEYRING
// with no name: a name would join an existing keyring of that name). The
// credentials are the thread's, and execve builds the new image from
// them: the plugin cannot reach the host's session keyring through @s.
func joinSessionKeyring() error {
	_, _, e := unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0)
	if e != 0 {
		return fmt.Errorf("keyctl(KEYCTL_JOIN_SESSION_KEYRING): %v", e)
	}
	return nil
}

// threadKeyring is KEY_SPEC_THREAD_KEYRING (-1), a variable: a negative
// constant does not convert to uintptr.
var threadKeyring = func() uintptr { id := unix.KEY_SPEC_THREAD_KEYRING; return uintptr(id) }()
