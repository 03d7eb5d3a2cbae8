//go:build windows

package isolate

import (
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The channels are anonymous pipes read and written synchronously by
// handle, as descriptors are on Unix: a blocked read parks its thread in
// the kernel. The child inherits its ends (internal/child: only those
// handles) and learns their values from childSpec.Handles.

func readFD(fd uintptr, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var n uint32
	err := windows.ReadFile(windows.Handle(fd), b, &n, nil)
	if err == windows.ERROR_BROKEN_PIPE || err == windows.ERROR_HANDLE_EOF {
		return 0, nil // the other end is closed: EOF
	}
	return int(n), err
}

func writeFD(fd uintptr, b []byte) (int, error) {
	var n uint32
	err := windows.WriteFile(windows.Handle(fd), b, &n, nil)
	return int(n), err
}

// pipe returns an anonymous pipe; its handles are not inheritable until
// internal/child hands one to a child.
func pipe() (r, w *os.File, err error) { return os.Pipe() }

// setCloexec keeps the child's inherited channel out of whatever the plugin
// starts.
func setCloexec(fd uintptr) {
	_ = windows.SetHandleInformation(windows.Handle(fd), windows.HANDLE_FLAG_INHERIT, 0)
}

var peekNamedPipe = windows.NewLazySystemDLL("kernel32.dll").NewProc("PeekNamedPipe")

// pending is how many bytes the pipe holds unread (PeekNamedPipe).
func pending(fd uintptr) (int, error) {
	var avail uint32
	// avail is written by the call and read back at once.
	r, _, err := peekNamedPipe.Call(fd, 0, 0, 0, uintptr(unsafe.Pointer(&avail)), 0)
	if r == 0 {
		return 0, err
	}
	return int(avail), nil
}
