//go:build !unix

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// canSupervise is false where a child cannot be handed extra descriptors
// (Windows): run runs in this process, and a native plugin's crash ends it
// with the Go runtime's status.
const canSupervise = false

func becomeRunHost() *os.File { return nil }

func killedBy(*exec.ExitError) (syscall.Signal, bool) { return 0, false }
