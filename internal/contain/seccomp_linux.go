package contain

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The seccomp filter of Policy.DenySockets, hand-assembled classic BPF
// (linux/filter.h, linux/seccomp.h). It is ten-odd instructions: a helper
// that labels jumps keeps it readable without a BPF assembler dependency.
//
// Layout of struct seccomp_data: nr (u32) at 0, arch (u32) at 4, then the
// six arguments as u64 from 16; amd64 and arm64 are little-endian, so an
// argument's low 32 bits (an int argument, such as the address family) are
// at 16+8*i.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16

	secRetErrno = 0x00050000 // SECCOMP_RET_ERRNO: fail the call with the errno in the low 16 bits
)

// noteNoSeccomp is the note for a kernel without seccomp filters.
const noteNoSeccomp = "the kernel has no seccomp filters: socket(2) is not restricted"

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
func labelled(l string, i insn) insn { i.label = l; return i }

// assemble resolves the labels into the forward offsets BPF jumps take.
func assemble(prog []insn) ([]unix.SockFilter, error) {
	at := map[string]int{}
	for i, in := range prog {
		if in.label != "" {
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
	return out, nil
}

// socketFilter is the program for this architecture, or nil where this
// package knows no audit arch value (the filter must check it: a number
// means another call under another arch's table).
func socketFilter() ([]unix.SockFilter, error) {
	if auditArch == 0 {
		return nil, nil
	}
	prog := []insn{
		ld(offArch),
		// Another ABI in the same process (i386 via int 0x80 on amd64):
		// refuse every call rather than learn its numbers.
		jeq(auditArch, "", "eperm"),
		ld(offNr),
	}
	if x32Bit != 0 {
		// x32 calls carry the amd64 arch value and numbers with this bit.
		prog = append(prog, jge(x32Bit, "eperm", ""))
	}
	prog = append(prog,
		jeq(unix.SYS_SOCKET, "eacces", ""),
		jeq(unix.SYS_SOCKETPAIR, "pair", ""),
		// io_uring can create and connect sockets without socket(2)
		// (IORING_OP_SOCKET); ENOSYS makes libraries fall back to plain calls.
		jeq(unix.SYS_IO_URING_SETUP, "enosys", ""),
		jeq(unix.SYS_IO_URING_ENTER, "enosys", ""),
		jeq(unix.SYS_IO_URING_REGISTER, "enosys", ""),
		ret(unix.SECCOMP_RET_ALLOW),
		// socketpair(AF_UNIX) makes two connected sockets that reach nothing
		// outside the process: allowed, as a pipe would be.
		labelled("pair", ld(offArg0)),
		jeq(unix.AF_UNIX, "", "eacces"),
		ret(unix.SECCOMP_RET_ALLOW),
		labelled("eacces", ret(secRetErrno|uint32(unix.EACCES))),
		labelled("enosys", ret(secRetErrno|uint32(unix.ENOSYS))),
		labelled("eperm", ret(secRetErrno|uint32(unix.EPERM))),
	)
	return assemble(prog)
}

// expectSockets fills in what denySockets will achieve for p here.
func expectSockets(r *Report, p Policy, netns bool) {
	if !p.DenySockets {
		return
	}
	r.NetNS = netns
	if !netns {
		r.Notes = append(r.Notes, "the child shares the host's network namespace: one of its own needs CAP_SYS_ADMIN")
	}
	switch {
	case auditArch == 0:
		r.Notes = append(r.Notes, "no socket filter on "+runtime.GOARCH+": socket(2) is not restricted")
	case !kernelHasSeccomp():
		r.Notes = append(r.Notes, noteNoSeccomp)
	default:
		r.Sockets = true
	}
}

// kernelHasSeccomp tells whether /proc/self/status has the Seccomp line of
// a kernel built with seccomp.
func kernelHasSeccomp() bool {
	b, err := os.ReadFile("/proc/self/status")
	return err == nil && strings.Contains(string(b), "\nSeccomp:")
}

// denySockets installs the filter on the calling thread, which the caller
// has locked and given no_new_privs: it holds across execve and for every
// thread the new image starts. It clears r.Sockets, with a note, on a
// kernel without seccomp filters.
func denySockets(r *Report) error {
	filter, err := socketFilter()
	if err != nil || filter == nil {
		return err
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	// &prog is converted to uintptr in the call expression: it stays valid
	// for the system call, and prog.Filter keeps filter alive.
	_, _, e := unix.Syscall(unix.SYS_PRCTL, unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(filter)
	switch e {
	case 0:
		return nil
	case unix.EINVAL: // CONFIG_SECCOMP_FILTER is off
		r.Sockets = false
		r.Notes = append(r.Notes, noteNoSeccomp)
		return nil
	}
	return fmt.Errorf("prctl(PR_SET_SECCOMP): %v", e)
}
