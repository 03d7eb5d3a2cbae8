//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import "golang.org/x/sys/unix"

// isTerminal reports whether fd is a terminal: the terminal attributes can
// be read (a /dev/null, which is a character device too, has none).
func isTerminal(fd uintptr) bool {
	_, err := unix.IoctlGetTermios(int(fd), termiosRead)
	return err == nil
}
