//go:build !cgo

package clawctx

import (
	"github.com/ebitengine/purego"

	"github.com/clawd-go/clawd/internal/threadid"
)

// TrampolinePath names how the trampolines were made: "cgo" or "purego".
const TrampolinePath = "purego"

// The two callbacks are made here, once per process: purego never frees a
// callback and stops at 2000 of them.
func init() {
	logFn = purego.NewCallback(func(ctx, level, msg uintptr) {
		// level is a uint8_t in a full register: the upper bits are not defined.
		hostLog(ctx, uint8(level), msg)
	})
	sendEventFn = purego.NewCallback(func(ctx, method, params uintptr) int32 {
		return hostSendEvent(ctx, method, params, callerUnknown)
	})
}

// noteCaller records the calling thread, for send_event to tell it from the
// plugin's own threads: without cgo there is no C thread-local to mark it,
// so a plugin that may send events (network.relay, or the sandbox child's
// forwarded hooks) pays a gettid per call; the others nothing.
func (c *Slot) noteCaller() {
	if c.b.relay || c.b.forwardHooks {
		c.ch.caller[c.i].Store(threadid.Current())
	}
}
