package contain

import "golang.org/x/sys/unix"

const (
	auditArch = unix.AUDIT_ARCH_X86_64
	x32Bit    = 0x40000000 // __X32_SYSCALL_BIT
)

// archRules are amd64's own refusals: the path calls the generic table
// replaced by their *at forms, port I/O, the LDT (systemd's
// @cpu-emulation) and calls the kernel no longer implements, refused so
// that a kernel that brings one back does not bring it to plugins.
var archRules = []rule{
	{name: "iopl", nr: unix.SYS_IOPL, class: "raw io"},
	{name: "ioperm", nr: unix.SYS_IOPERM, class: "raw io"},
	{name: "chmod", nr: unix.SYS_CHMOD, class: "file metadata", test: argTest{arg: 1, anyBit: notOwnerBits}},
	{name: "chown", nr: unix.SYS_CHOWN, class: "file metadata"},
	{name: "lchown", nr: unix.SYS_LCHOWN, class: "file metadata"},
	{name: "modify_ldt", nr: unix.SYS_MODIFY_LDT, class: "cpu emulation"},
	{name: "create_module", nr: unix.SYS_CREATE_MODULE, class: "modules"},
	{name: "query_module", nr: unix.SYS_QUERY_MODULE, class: "modules"},
	{name: "get_kernel_syms", nr: unix.SYS_GET_KERNEL_SYMS, class: "modules"},
	{name: "_sysctl", nr: unix.SYS__SYSCTL, class: "obsolete"},
	{name: "sysfs", nr: unix.SYS_SYSFS, class: "obsolete"},
	{name: "uselib", nr: unix.SYS_USELIB, class: "obsolete"},
	{name: "ustat", nr: unix.SYS_USTAT, class: "obsolete"},
	{name: "afs_syscall", nr: unix.SYS_AFS_SYSCALL, class: "obsolete"},
	{name: "tuxcall", nr: unix.SYS_TUXCALL, class: "obsolete"},
	{name: "security", nr: unix.SYS_SECURITY, class: "obsolete"},
	{name: "vserver", nr: unix.SYS_VSERVER, class: "obsolete"},
	{name: "getpmsg", nr: unix.SYS_GETPMSG, class: "obsolete"},
	{name: "putpmsg", nr: unix.SYS_PUTPMSG, class: "obsolete"},
}
