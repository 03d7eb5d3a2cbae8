//go:build !cgo

package clawctx

import (
	"github.com/clawd-go/clawd/internal/callback"
	"github.com/clawd-go/clawd/internal/threadid"
)

// TrampolinePath names how the trampolines were made: "cgo" or "purego".
const TrampolinePath = "purego"

// The two callbacks are made here, once per process: purego never frees a
// callback and stops at 2000 of them. Both return uintptr, as Windows
// requires of every callback (internal/callback): the C side of log
// ignores it, that of send_event reads the ClawaError in its low 32 bits.
func init() {
	logFn = callback.New(func(ctx, level, msg uintptr) uintptr {
		// level is a uint8_t in a full register: the upper bits are not defined.
		hostLog(ctx, uint8(level), msg)
		return 0
	})
	sendEventFn = callback.New(func(ctx, method, params uintptr) uintptr {
		return uintptr(uint32(hostSendEvent(ctx, method, params, callerUnknown)))
	})
}

// noteCaller records the calling thread, for send_event to tell it from the
// plugin's own threads: without cgo there is no C thread-local to mark it,
// so a plugin that may send events (network.relay, or the sandbox child's
// forwarded hooks) pays a gettid per call; the others nothing.
func (c *Slot) noteCaller() {
	if c.b.NeedsCallContext() {
		c.ch.caller[c.i].Store(threadid.Current())
	}
}
