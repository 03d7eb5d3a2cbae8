//go:build cgo

package clawctx

/*
#include <stdint.h>
extern void clawdHostLog(uintptr_t, uint8_t, uintptr_t);
extern int32_t clawdHostSendEvent(uintptr_t, uintptr_t, uintptr_t);

// The addresses of the two //export trampolines, taken in C because Go
// cannot name an exported function's C symbol.
static uintptr_t clawd_log_addr(void) { return (uintptr_t)&clawdHostLog; }
static uintptr_t clawd_send_event_addr(void) { return (uintptr_t)&clawdHostSendEvent; }
*/
import "C"

// TrampolinePath names how the trampolines were made: "cgo" or "purego".
const TrampolinePath = "cgo"

func init() {
	logFn = uintptr(C.clawd_log_addr())
	sendEventFn = uintptr(C.clawd_send_event_addr())
}
