//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package main

// isTerminal: no way to tell here, so never a terminal (no prompt, no
// progress bar: the safe answer).
func isTerminal(uintptr) bool { return false }
