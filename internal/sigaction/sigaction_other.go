//go:build !linux || !(386 || amd64 || arm || arm64 || loong64 || mips || mipsle || mips64 || mips64le || ppc64 || ppc64le || riscv64 || s390x)

package sigaction

import "syscall"

// Supported is false: signal actions are not read on this system yet.
const Supported = false

// Set stands for a snapshot that is never taken.
type Set struct{}

// Save returns nil.
func Save() *Set { return nil }

// Restore does nothing and returns nil.
func (s *Set) Restore() []syscall.Signal { return nil }

// Diff returns nil.
func (s *Set) Diff(now *Set) []Change { return nil }
