//go:build unix

package isolate

import (
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWakeFrame: the host's wake-up frame ends a read blocked on a channel
// whose write end a descendant of the dead child still holds; the same
// frame while the child lives is a protocol violation.
func TestWakeFrame(t *testing.T) {
	r, w, err := pipe()
	require.NoError(t, err)
	defer r.Close()
	holder, err := os.OpenFile("/dev/fd/"+strconv.Itoa(int(w.Fd())), os.O_WRONLY, 0) // another write end, as a grandchild's
	require.NoError(t, err)
	defer holder.Close()
	dead := make(chan struct{})
	rd := newReader(r.Fd())
	rd.dead = dead

	var h [headerSize]byte
	putHeader(h[:], kWake, 0, 0)
	require.NoError(t, writeAll(holder.Fd(), h[:]))
	_, _, _, err = rd.next()
	require.ErrorIs(t, err, errProtocol, "a wake-up frame from a live child")

	// The reader that saw the violation is done with (the host kills that
	// child); a fresh one reads what comes next.
	rd = newReader(r.Fd())
	rd.dead = dead
	got := make(chan error, 1)
	go func() {
		_, _, _, err := rd.next() // blocks: holder keeps the pipe open
		got <- err
	}()
	close(dead)
	wake([]*os.File{w})
	require.ErrorIs(t, <-got, io.EOF)
}
