// Package callback makes the C function pointers the host hands to
// plugins when it is built without cgo (purego callbacks): the context's
// log and send_event, and the benchmark floor's no-op log.
//
// Every such callback in the module is made by New, which first checks
// the function against the strictest rules of the platforms the module
// builds for, so that a signature that works on Linux but not on Windows
// fails on every OS, at the same place:
//
//   - on Windows, purego.NewCallback is syscall.NewCallback, which panics
//     unless the function returns exactly one uintptr-sized value (a
//     callback without a result, or returning int32, takes the whole
//     program down at init, before main);
//   - every argument must fit a register: an integer, a pointer or a
//     uintptr, never a float, string, slice or struct.
//
// A C caller that expects void ignores the result, and one that expects
// a 32-bit int reads the low half of the register (RAX on Win64 and
// SysV, x0 on arm64), so returning uintptr costs nothing on any OS.
//
// purego stops at 2000 callbacks per process and never frees one: call
// New once per process (from init or a package-level var), never per
// plugin or per call.
package callback

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/ebitengine/purego"
)

// maxArgs is syscall.NewCallback's limit on Windows (callbackMaxFrame is
// 64 words on amd64 and arm64); purego's own is lower on Unix, which the
// module's callbacks (3 arguments) are far from.
const maxArgs = 64

var wordSize = unsafe.Sizeof(uintptr(0))

// Check reports why fn cannot be a C callback on every OS and architecture
// the module builds for (windows/amd64 and windows/arm64 are the strictest),
// or nil if it can.
func Check(fn any) error {
	t := reflect.TypeOf(fn)
	if t == nil || t.Kind() != reflect.Func {
		return fmt.Errorf("callback: %T is not a function", fn)
	}
	if t.IsVariadic() {
		return fmt.Errorf("callback: %s is variadic", t)
	}
	if t.NumIn() > maxArgs {
		return fmt.Errorf("callback: %s has %d arguments, more than %d", t, t.NumIn(), maxArgs)
	}
	for i := range t.NumIn() {
		if in := t.In(i); !wordArg(in) {
			return fmt.Errorf("callback: %s: argument %d is %s, not an integer or pointer of at most %d bytes", t, i, in, wordSize)
		}
	}
	if t.NumOut() != 1 || t.Out(0).Kind() != reflect.Uintptr {
		return fmt.Errorf("callback: %s must return exactly one uintptr (Windows' syscall.NewCallback panics otherwise)", t)
	}
	return nil
}

func wordArg(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Pointer, reflect.UnsafePointer:
		return t.Size() <= wordSize
	}
	return false
}

// New returns a C function pointer that calls fn. It panics if Check
// rejects fn: a programming error, caught by any test that links the
// package that makes the callback.
func New(fn any) uintptr {
	if err := Check(fn); err != nil {
		panic(err)
	}
	return purego.NewCallback(fn)
}
