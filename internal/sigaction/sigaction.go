// Package sigaction reads and restores the process's signal actions
// straight from the kernel (rt_sigaction on Linux), so that it sees what a
// plugin installed, through libc or not. The loader saves every action
// before dlopen, init and on_load and puts back what a plugin changed; the
// conformance suite reports what changed.
//
// The kernel's struct sigaction is given per GOARCH, as
// golang.org/x/sys/unix gives its structs; on systems without a layout
// here, Supported is false, Save returns nil and the methods do nothing.
package sigaction

import "syscall"

// Change is a signal whose action differs between two snapshots.
type Change struct {
	Signal syscall.Signal
	Name   string // as C spells it: "SIGSEGV"
	// NoStack is true when the new action is a handler installed without
	// SA_ONSTACK: the Go runtime aborts on the next such signal.
	NoStack bool
}
