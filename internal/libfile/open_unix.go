//go:build unix

package libfile

import (
	"os"
	"syscall"
)

// openFile opens a path already resolved and examined: O_NONBLOCK so a FIFO
// swapped in since cannot block the open, O_NOFOLLOW so a symlink swapped
// in since is not followed (fstat then catches any other swap).
func openFile(real string) (*os.File, error) {
	return os.OpenFile(real, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
}
