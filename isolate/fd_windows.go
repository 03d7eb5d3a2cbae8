//go:build windows

package isolate

import (
	"errors"
	"os"
)

// errNoSandbox: the child's channels are inherited descriptors, which this
// version passes on Unix only.
var errNoSandbox = errors.New("the process sandbox is not available on Windows in this version")

func readFD(fd uintptr, b []byte) (int, error)  { return 0, errNoSandbox }
func writeFD(fd uintptr, b []byte) (int, error) { return 0, errNoSandbox }
func pipe() (r, w *os.File, err error)          { return nil, nil, errNoSandbox }
func setCloexec(fd uintptr)                     {}

func pending(uintptr) (int, error) { return 0, errNoSandbox }
