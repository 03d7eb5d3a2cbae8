package contain_test

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

const x32 = 0x40000000 // __X32_SYSCALL_BIT

// archProbes: port I/O, the LDT and the x32 table.
func archProbes() []syscallProbe {
	var ldt [16]byte
	return []syscallProbe{
		// 0: asking for the level one has needs no privilege.
		{"iopl", func() unix.Errno { return raw(unix.SYS_IOPL, 0) }},
		// 0: reading the (empty) LDT.
		{"modify_ldt", func() unix.Errno {
			return raw(unix.SYS_MODIFY_LDT, 0, uintptr(unsafe.Pointer(&ldt[0])), uintptr(len(ldt)))
		}},
		// keyctl by its x32 number: the amd64 arch value, another table.
		// ENOSYS on a kernel without CONFIG_X86_X32_ABI, else the call.
		{"x32 keyctl", func() unix.Errno {
			return raw(x32|unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, ring(unix.KEY_SPEC_USER_KEYRING), 0)
		}},
	}
}

// archAllowed is what the kernel answers archProbes without the filter.
func archAllowed() map[string]unix.Errno {
	return map[string]unix.Errno{"iopl": 0, "modify_ldt": 0, "x32 keyctl": 0}
}

func archFilterCases() []filterCase {
	eperm := uint32(0x50000 | uint32(unix.EPERM))
	return []filterCase{
		{"x32 getpid", x32 | unix.SYS_GETPID, [6]uint64{}, eperm},
		{"x32 past the table", x32 | 600, [6]uint64{}, eperm},
	}
}
