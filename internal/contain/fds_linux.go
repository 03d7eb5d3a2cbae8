package contain

import (
	"fmt"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// closeInherited marks every descriptor but 0-2 and keep close-on-exec, so
// that the execve into the second image closes them: whatever the host
// leaked without O_CLOEXEC (a native plugin in the host, a library) never
// reaches the plugin. Marking instead of closing leaves the descriptors the
// Go runtime of this image uses alone until the image is gone.
func closeInherited(keep []int) error {
	keep = append([]int{0, 1, 2}, keep...)
	slices.Sort(keep)
	keep = slices.Compact(keep)
	from := 0
	for _, k := range append(keep, -1) { // -1: the range after the last kept one
		last := uint(k - 1)
		if k < 0 {
			last = ^uint(0)
		}
		if k >= 0 && k <= from {
			from = k + 1
			continue
		}
		if err := unix.CloseRange(uint(from), last, unix.CLOSE_RANGE_CLOEXEC); err != nil {
			// ENOSYS: before Linux 5.9; EINVAL: the flag is from 5.11.
			if err != unix.ENOSYS && err != unix.EINVAL {
				return fmt.Errorf("close_range(%d, %d, CLOEXEC): %v", from, last, err)
			}
			return cloexecByList(keep)
		}
		from = k + 1
	}
	return nil
}

// cloexecByList is closeInherited for kernels without close_range's
// CLOEXEC flag: every descriptor /proc/self/fd lists.
func cloexecByList(keep []int) error {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list descriptors: %v", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("list descriptors: %v", err)
	}
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || slices.Contains(keep, fd) {
			continue
		}
		// EBADF: the descriptor of the listing itself, closed since.
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && err != unix.EBADF {
			return fmt.Errorf("fcntl(%d, F_SETFD, FD_CLOEXEC): %v", fd, err)
		}
	}
	return nil
}
