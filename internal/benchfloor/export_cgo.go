//go:build cgo

package benchfloor

/*
#include <stdint.h>
*/
import "C"

//export floorLog
func floorLog(ctx C.uintptr_t, level C.uint8_t, msg C.uintptr_t) {}
