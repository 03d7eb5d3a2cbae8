//go:build cgo

package clawctx

/*
#include <stdint.h>
extern void clawdHostLog(uintptr_t, uint8_t, uintptr_t);
extern int32_t clawdHostSendEvent(uintptr_t, uintptr_t, uintptr_t, int8_t);

// clawd_calling_ctx is the ClawaContext of the callback that runs on this
// thread, 0 outside one: the call shims of package vtable set and restore
// it around every call into the plugin. send_event compares it with its
// context to tell the calling thread from the plugin's own threads.
__thread uintptr_t clawd_calling_ctx;

// send_event as the plugin sees it: the //export trampoline, told whether
// it runs on the thread of the call that owns the context.
static int32_t clawd_send_event_entry(uintptr_t ctx, uintptr_t method, uintptr_t params) {
	return clawdHostSendEvent(ctx, method, params, ctx != 0 && ctx == clawd_calling_ctx);
}

// The addresses of the two trampolines, taken in C because Go cannot name
// an exported function's C symbol.
static uintptr_t clawd_log_addr(void) { return (uintptr_t)&clawdHostLog; }
static uintptr_t clawd_send_event_addr(void) { return (uintptr_t)&clawd_send_event_entry; }
*/
import "C"

// TrampolinePath names how the trampolines were made: "cgo" or "purego".
const TrampolinePath = "cgo"

func init() {
	logFn = uintptr(C.clawd_log_addr())
	sendEventFn = uintptr(C.clawd_send_event_addr())
}

// noteCaller is free with cgo: the call shims mark the calling thread.
func (c *Slot) noteCaller() {}
