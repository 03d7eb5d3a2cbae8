package contain

import "golang.org/x/sys/unix"

const (
	auditArch = unix.AUDIT_ARCH_AARCH64
	x32Bit    = 0 // no second ABI under the same arch value
)

// archRules: arm64's table (the generic one) has no port I/O, LDT or
// pre-2.6 calls; the common rules cover it.
var archRules []rule
