package isolate

import "golang.org/x/sys/unix"

// pending is how many bytes the pipe at fd holds unread (FIONREAD, which
// Linux names TIOCINQ).
func pending(fd uintptr) (int, error) { return unix.IoctlGetInt(int(fd), unix.TIOCINQ) }
