package contain

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// securebits (linux/securebits.h), locked so the plugin cannot undo them:
// root gains no capability at execve (NOROOT), a uid change does not
// touch the capability sets (NO_SETUID_FIXUP: this package clears them
// itself), and no ambient capability can be raised again.
const secureBits = 1<<0 | 1<<1 | // SECBIT_NOROOT, _LOCKED
	1<<2 | 1<<3 | // SECBIT_NO_SETUID_FIXUP, _LOCKED
	1<<5 | // SECBIT_KEEP_CAPS_LOCKED (KEEP_CAPS itself off)
	1<<6 | 1<<7 // SECBIT_NO_CAP_AMBIENT_RAISE, _LOCKED

// noteBounding is the note for a host that cannot empty the bounding set.
const noteBounding = "the capability bounding set is kept: emptying it needs CAP_SETPCAP (no_new_privs still keeps execve from granting any)"

// capSets reads the calling thread's effective, permitted and inheritable
// sets (64 bits each).
func capSets() (eff, prm, inh uint64, err error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	// Version 3 makes the kernel write two elements: data holds both.
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, 0, 0, fmt.Errorf("capget: %v", err)
	}
	join := func(lo, hi uint32) uint64 { return uint64(hi)<<32 | uint64(lo) }
	return join(data[0].Effective, data[1].Effective), join(data[0].Permitted, data[1].Permitted),
		join(data[0].Inheritable, data[1].Inheritable), nil
}

// hasCap tells whether the calling thread has capability c in effect.
func hasCap(c int) bool {
	eff, _, _, err := capSets()
	return err == nil && eff&(1<<c) != 0
}

// lastCap is the highest capability this kernel knows.
func lastCap() int {
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n >= 0 && n < 64 {
			return n
		}
	}
	n := 0 // no /proc: ask the bounding set until the kernel says EINVAL
	for n < 63 {
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n+1), 0, 0, 0); err != nil {
			break
		}
		n++
	}
	return n
}

// boundingEmpty tells whether the bounding set holds no capability.
func boundingEmpty(last int) bool {
	for c := 0; c <= last; c++ {
		if in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err != nil || in != 0 {
			return false
		}
	}
	return true
}

// canSwitchIDs tells whether this host may run the child as another uid.
func canSwitchIDs() error {
	if !hasCap(unix.CAP_SETUID) || !hasCap(unix.CAP_SETGID) {
		return errNotRoot
	}
	return nil
}

// expectPrivileges fills in what dropPrivileges will achieve for p here.
func expectPrivileges(r *Report, p Policy) {
	last := lastCap()
	r.NoCapabilities = hasCap(unix.CAP_SETPCAP) || boundingEmpty(last)
	if !r.NoCapabilities {
		r.Notes = append(r.Notes, noteBounding)
	}
	r.UID, r.GID = p.UID, p.GID
	if p.UID == 0 {
		r.UID, r.GID = os.Getuid(), os.Getgid()
	}
}

// dropPrivileges leaves the calling thread, which the caller has locked and
// which is about to execve, without any capability and, when p says so,
// under p.UID/p.GID; r gets the outcome. Credentials are per thread: the
// new image inherits this thread's. Order: what needs CAP_SETPCAP
// (securebits, bounding set) first, the id switch (CAP_SETUID/SETGID)
// next, the remaining sets last.
func dropPrivileges(p Policy, r *Report) error {
	last := lastCap()
	if hasCap(unix.CAP_SETPCAP) {
		if err := unix.Prctl(unix.PR_SET_SECUREBITS, secureBits, 0, 0, 0); err != nil {
			return fmt.Errorf("prctl(PR_SET_SECUREBITS): %v", err)
		}
		for c := 0; c <= last; c++ {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
				return fmt.Errorf("prctl(PR_CAPBSET_DROP, %d): %v", c, err)
			}
		}
	}
	// EINVAL: a kernel before 4.3, which has no ambient set.
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("prctl(PR_CAP_AMBIENT_CLEAR_ALL): %v", err)
	}
	if p.UID != 0 {
		if err := switchIDs(p.UID, p.GID); err != nil {
			return err
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var none [2]unix.CapUserData
	// Version 3: the kernel reads two elements, both zero.
	if err := unix.Capset(&hdr, &none[0]); err != nil {
		return fmt.Errorf("capset(none): %v", err)
	}
	// A change of credentials clears the parent-death signal; arm it again.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_PDEATHSIG): %v", err)
	}
	eff, prm, inh, err := capSets()
	if err != nil {
		return err
	}
	amb := false
	for c := 0; c <= last && !amb; c++ {
		v, err := unix.PrctlRetInt(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_IS_SET, uintptr(c), 0, 0)
		amb = err == nil && v != 0
	}
	if eff|prm|inh != 0 || amb {
		return fmt.Errorf("capabilities remain after dropping them: effective %#x, permitted %#x, inheritable %#x", eff, prm, inh)
	}
	// expectPrivileges foresaw an empty bounding set where CAP_SETPCAP was
	// at hand (and noted it otherwise).
	if r.NoCapabilities && !boundingEmpty(last) {
		return fmt.Errorf("the capability bounding set is not empty after dropping it")
	}
	// getuid(2) answers for the calling thread: the ids the new image gets.
	r.UID, r.GID = unix.Getuid(), unix.Getgid()
	return nil
}

// switchIDs sets this thread's groups, gid and uid (real, effective,
// saved) with raw system calls: the libc and syscall wrappers change every
// thread, which a binary with (fake) cgo cannot do from Go, and only this
// thread goes on.
func switchIDs(uid, gid int) error {
	if _, _, e := unix.RawSyscall(sysSetgroups, 0, 0, 0); e != 0 {
		return fmt.Errorf("setgroups(none): %v", e)
	}
	if _, _, e := unix.RawSyscall(sysSetresgid, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
		return fmt.Errorf("setresgid(%d): %v", gid, e)
	}
	if _, _, e := unix.RawSyscall(sysSetresuid, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
		return fmt.Errorf("setresuid(%d): %v", uid, e)
	}
	return nil
}

// errNotRoot is what canSwitchIDs returns on a host that cannot switch.
var errNotRoot = errors.New("contain: policy uid/gid: switching ids needs a root host (CAP_SETUID and CAP_SETGID)")
