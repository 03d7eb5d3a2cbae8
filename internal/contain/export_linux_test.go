package contain

import "golang.org/x/sys/unix"

// RestrictThisThread confines the calling thread, which the caller has
// locked, to a Landlock domain that allows no file access, without execve.
func RestrictThisThread() error {
	abi, err := landlockABI()
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	_, err = restrictThread(Report{LandlockABI: abi}, nil, nil)
	return err
}

// Expect and HandledFS expose the ABI arithmetic for tests.
var (
	Expect    = expect
	HandledFS = handledFS
)

// SocketFilter is the assembled seccomp program.
var SocketFilter = socketFilter
