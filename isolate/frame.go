package isolate

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/clawd-go/clawd/internal/boundary"
)

// The wire protocol between a host and its sandbox child.
//
// Two channels, each a pair of pipes the child inherits (never its stdout,
// which the plugin may write to):
//
//   - the call channel carries the host's calls and the child's answers, and
//     whatever the plugin logs or sends from inside a call, on the thread
//     that serves it, in order: the call's logs arrive before its result;
//   - the async channel carries what the plugin's own threads log or send
//     outside a call, and the host's answers to those events.
//
// Every frame is an 8-byte header, then the body:
//
//	[0:4] body length, little-endian uint32 (at most maxBody)
//	[4]   kind
//	[5]   op (for kCall: which callback)
//	[6:8] zero
//
// The hot frames (kCall, kResult, kLog, kEvent, kReply) are fixed binary
// layouts; the rare ones (kHello, kOpenFailed, kStatsReply, kClosed) are
// JSON.
const headerSize = 8

// maxBody bounds one frame's body: a larger string is refused before it is
// sent, and a larger frame from the child is a protocol violation.
// It is the one limit of both paths: the largest send_event the in-process
// path accepts (boundary.MaxMethod, boundary.MaxParams) fits in one kEvent,
// and a log line is cut at boundary.MaxLogMessage as in process.
const maxBody = boundary.MaxParams + boundary.MaxMethod + 64

type kind uint8

const (
	// host -> child
	kCall  kind = 1 + iota // body: u32 call token, 3 x u32 lengths, then the strings
	kReply                 // body: u32 seq (the event's), i32 code (answer to kEvent)
	kStats                 // no body
	kClose                 // no body: on_unload, then exit

	// child -> host
	kHello      // JSON hello
	kOpenFailed // JSON wireError
	kResult     // body: u8 status, 3 zero, i32 rc [, wireError strings], u32 call token
	kLog        // body: u8 ABI log level (as the plugin gave it), u8 flags, 2 zero, message
	kEvent      // body: u32 seq (call channel: the call token), u32 method length, method, params
	kStatsReply // JSON clawd.Stats
	kClosed     // JSON closed
	kIdent      // body: name, version (u32-prefixed): who logs before the hello

	// host -> host: written by the host into its own copy of the child's
	// write end once the child exited, to end a blocked read; from a child
	// that still lives it is a protocol violation.
	kWake
)

// Result statuses.
const (
	stOK       = 0 // the callback returned CLAWA_ERROR_NONE
	stCallback = 1 // the callback returned rc
	stError    = 2 // the loader refused the call: code, detail, cause follow
)

// kLog flags.
const (
	logTruncated   = 1 << 0
	logInvalidUTF8 = 1 << 1
	logFlags       = logTruncated | logInvalidUTF8
)

// Call tokens bind what the child sends on the call channel to the call
// it belongs to. The host draws a fresh random token for every call it
// writes; the child echoes it in every event it sends while serving that
// call and in the call's result. The plugin shares the child's address
// space and can write any frame to the channel at any moment: a verdict
// (hook event) with another token, from an earlier call or written after
// its call's result, is stale: counted and dropped, never the verdict of
// the call in flight. A token cannot be known before its call is written,
// so a frame forged in advance matches only by a 1 in 2^32 guess.
//
// noCall is the token of an exchange that is no call (the hello, stats,
// the close): the child uses it outside every call, and the host never
// draws it.
const noCall = 0

// callHeader is the fixed part of a kCall body: the token, 3 lengths.
const callHeader = 16

var errProtocol = errors.New("protocol violation")

// putHeader writes a header for a body of n bytes at b[0:8].
func putHeader(b []byte, k kind, op uint8, n int) {
	binary.LittleEndian.PutUint32(b, uint32(n))
	b[4], b[5], b[6], b[7] = byte(k), op, 0, 0
}

// appendFrame appends a header and body to dst.
func appendFrame(dst []byte, k kind, op uint8, body []byte) []byte {
	var h [headerSize]byte
	putHeader(h[:], k, op, len(body))
	return append(append(dst, h[:]...), body...)
}

// appendCall appends a kCall frame with the call's token and three strings.
func appendCall(dst []byte, op uint8, token uint32, s0, s1, s2 string) []byte {
	n := callHeader + len(s0) + len(s1) + len(s2)
	var h [headerSize + callHeader]byte
	putHeader(h[:], kCall, op, n)
	binary.LittleEndian.PutUint32(h[8:], token)
	binary.LittleEndian.PutUint32(h[12:], uint32(len(s0)))
	binary.LittleEndian.PutUint32(h[16:], uint32(len(s1)))
	binary.LittleEndian.PutUint32(h[20:], uint32(len(s2)))
	dst = append(dst, h[:]...)
	dst = append(dst, s0...)
	dst = append(dst, s1...)
	return append(dst, s2...)
}

// splitCall returns the token and the three strings of a kCall body, the
// strings aliasing body.
func splitCall(body []byte) (token uint32, a, b, c []byte, err error) {
	if len(body) < callHeader {
		return 0, nil, nil, nil, errProtocol
	}
	token = binary.LittleEndian.Uint32(body)
	n0 := uint64(binary.LittleEndian.Uint32(body[4:]))
	n1 := uint64(binary.LittleEndian.Uint32(body[8:]))
	n2 := uint64(binary.LittleEndian.Uint32(body[12:]))
	if callHeader+n0+n1+n2 != uint64(len(body)) {
		return 0, nil, nil, nil, errProtocol
	}
	rest := body[callHeader:]
	return token, rest[:n0], rest[n0 : n0+n1], rest[n0+n1:], nil
}

// appendStrings appends each string with a u32 length.
func appendStrings(dst []byte, ss ...string) []byte {
	for _, s := range ss {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

// readStrings splits n length-prefixed strings off b (copies).
func readStrings(b []byte, n int) ([]string, error) {
	out, _, err := splitStrings(b, n)
	return out, err
}

// splitStrings splits n length-prefixed strings off b (copies) and returns
// what follows them.
func splitStrings(b []byte, n int) ([]string, []byte, error) {
	out := make([]string, 0, n)
	for range n {
		if len(b) < 4 {
			return nil, nil, errProtocol
		}
		l := uint64(binary.LittleEndian.Uint32(b))
		if uint64(len(b)-4) < l {
			return nil, nil, errProtocol
		}
		out = append(out, string(b[4:4+l]))
		b = b[4+l:]
	}
	return out, b, nil
}

// frameError says what was wrong with a frame, for the crash report.
func frameError(k kind, what string) error {
	return fmt.Errorf("%w: frame kind %d: %s", errProtocol, k, what)
}
