//go:build !cgo

package clawctx

import "github.com/ebitengine/purego"

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
		return hostSendEvent(ctx, method, params)
	})
}
