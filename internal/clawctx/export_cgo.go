//go:build cgo

package clawctx

// A file with //export may only declare C in its preamble.

/*
#include <stdint.h>
*/
import "C"

// clawdHostLog is ClawaContext.log: void (*)(ClawaContext *, uint8_t, const char *).
// Pointers arrive as integers; they address C memory, never the Go heap.
//
//export clawdHostLog
func clawdHostLog(ctx C.uintptr_t, level C.uint8_t, msg C.uintptr_t) {
	hostLog(uintptr(ctx), uint8(level), uintptr(msg))
}

// clawdHostSendEvent is ClawaContext.send_event.
//
//export clawdHostSendEvent
func clawdHostSendEvent(ctx, method, params C.uintptr_t, onCaller C.int8_t) C.int32_t {
	return C.int32_t(hostSendEvent(uintptr(ctx), uintptr(method), uintptr(params), int8(onCaller)))
}
