//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package isolate

import "golang.org/x/sys/unix"

// fionread is _IOR('f', 127, int), the same on every BSD.
const fionread = 0x4004667f

// pending is how many bytes the pipe at fd holds unread.
func pending(fd uintptr) (int, error) { return unix.IoctlGetInt(int(fd), fionread) }
