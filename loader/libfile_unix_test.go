//go:build unix

package loader_test

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/loader"
)

// A FIFO and a device in place of the library are refused at once; the
// test fails (instead of hanging) if Open blocks.
func TestOpenRefusesFIFOAndDevice(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "libfifo"+cbuild.LibExt)
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	for path, want := range map[string]string{
		fifo:        "libfifo" + cbuild.LibExt + ": a FIFO (named pipe), not a regular file",
		"/dev/zero": "zero: a character device, not a regular file",
	} {
		done := make(chan error, 1)
		go func() {
			p, err := loader.Open(path)
			if p != nil {
				p.Close()
			}
			done <- err
		}()
		// An Open that blocked (on the FIFO, reading /dev/zero) fails the
		// test at the test binary's -timeout.
		assertRefused(t, <-done, path, clawerr.OpenFailed, want)
	}
}
