package boundary

import (
	"bytes"
	"unicode/utf8"

	"github.com/clawd-go/clawd/internal/foreign"
)

// Memory is a plugin's memory as the rules read it; each runtime says how
// (foreign.Memory in process, linear memory in wasm, Frame for strings a
// sandbox child already read). A runtime keeps only that, and how to call.
type Memory interface {
	// CString is the NUL-terminated string at addr, reading no more than
	// max bytes (its NUL among them). terminated is false when no NUL is
	// within max: b is then the first max-1 bytes. b is a view of the
	// plugin's memory, valid until the plugin runs again: copy to keep.
	// A NULL addr is foreign.ErrNull; memory that cannot be read is an
	// error of the memory's own.
	CString(addr uint64, max int) (b []byte, terminated bool, err error)
}

// The reasons a string is refused, the same for every runtime (the
// process runtime's errors.Is checks them).
var (
	ErrNull         = foreign.ErrNull
	ErrUnterminated = foreign.ErrUnterminated
	ErrNotUTF8      = foreign.ErrNotUTF8
)

// String copies the NUL-terminated UTF-8 string at addr whose NUL is within
// max bytes (so it has at most max-1).
func String[M Memory](m M, addr uint64, max int) (string, error) {
	b, err := stringView(m, addr, max)
	return string(b), err
}

// stringView is String without the copy.
func stringView[M Memory](m M, addr uint64, max int) ([]byte, error) {
	b, terminated, err := m.CString(addr, max)
	switch {
	case err != nil:
		return nil, err
	case !terminated:
		return nil, ErrUnterminated
	case !utf8.Valid(b):
		return nil, ErrNotUTF8
	}
	return b, nil
}

// Frame is Memory over the strings of a frame from a sandbox child: the
// child read them from the plugin, but its checks ran in the plugin's
// address space and count for nothing. Address 1 is Method, 2 is Params,
// 0 is NULL; each ends at its first NUL or at its end.
type Frame struct{ Method, Params []byte }

// Frame addresses.
const (
	FrameMethod uint64 = 1
	FrameParams uint64 = 2
)

// CString implements Memory.
func (f Frame) CString(addr uint64, max int) ([]byte, bool, error) {
	var b []byte
	switch addr {
	case FrameMethod:
		b = f.Method
	case FrameParams:
		b = f.Params
	default:
		return nil, false, ErrNull
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) >= max {
		return b[:max-1], false, nil
	}
	return b, true, nil
}
