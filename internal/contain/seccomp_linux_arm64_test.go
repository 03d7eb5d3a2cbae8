package contain_test

import "golang.org/x/sys/unix"

// archProbes: arm64 has no port I/O, LDT or second table under its arch
// value.
func archProbes() []syscallProbe         { return nil }
func archAllowed() map[string]unix.Errno { return nil }
func archFilterCases() []filterCase      { return nil }
