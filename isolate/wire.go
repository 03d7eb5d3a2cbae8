package isolate

import (
	"encoding/binary"
	"io"
	"sync/atomic"
)

// fdReader reads frames from a blocking file descriptor into one reused
// buffer: a frame costs one read(2) when it arrives whole, and no
// allocation unless a frame is larger than any before it.
type fdReader struct {
	fd   uintptr
	dead <-chan struct{} // closed once the child exited: kWake is then the end
	buf  []byte
	r, w int // unread bytes are buf[r:w]
	// The stream offset of the frame next returns (off) and of the one it
	// returned last (start), and how many bytes were read from fd (got,
	// which another goroutine may read).
	off, start uint64
	got        atomic.Uint64
}

func newReader(fd uintptr) *fdReader { return &fdReader{fd: fd, buf: make([]byte, 64<<10)} }

// next returns the next frame. body aliases the buffer and is valid until
// the following call. io.EOF means the other end closed.
func (rd *fdReader) next() (k kind, op uint8, body []byte, err error) {
	if err := rd.fill(headerSize); err != nil {
		return 0, 0, nil, err
	}
	h := rd.buf[rd.r : rd.r+headerSize]
	n := int(binary.LittleEndian.Uint32(h))
	k, op = kind(h[4]), h[5]
	if n > maxBody || h[6] != 0 || h[7] != 0 {
		return k, op, nil, frameError(k, "bad header")
	}
	if k == kWake && rd.dead != nil {
		select {
		case <-rd.dead:
			return k, op, nil, io.EOF // the host's own frame: the child is gone
		default:
			return k, op, nil, frameError(k, "a wake-up frame from a child that still runs")
		}
	}
	if err := rd.fill(headerSize + n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return k, op, nil, err
	}
	body = rd.buf[rd.r+headerSize : rd.r+headerSize+n]
	rd.r += headerSize + n
	rd.start = rd.off
	rd.off += uint64(headerSize + n)
	return k, op, body, nil
}

// fill makes at least n unread bytes available.
func (rd *fdReader) fill(n int) error {
	if rd.w-rd.r >= n {
		return nil
	}
	if rd.r == rd.w {
		rd.r, rd.w = 0, 0
	}
	if len(rd.buf)-rd.r < n { // compact, grow if still short
		if n > len(rd.buf) {
			nb := make([]byte, max(n, 2*len(rd.buf)))
			rd.w = copy(nb, rd.buf[rd.r:rd.w])
			rd.buf = nb
		} else {
			rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
		}
		rd.r = 0
	}
	for rd.w-rd.r < n {
		m, err := readFD(rd.fd, rd.buf[rd.w:])
		if err != nil {
			return err
		}
		if m == 0 {
			return io.EOF
		}
		rd.got.Add(uint64(m))
		rd.w += m
	}
	return nil
}

// writeAll writes b whole to fd.
func writeAll(fd uintptr, b []byte) error {
	for len(b) > 0 {
		n, err := writeFD(fd, b)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
