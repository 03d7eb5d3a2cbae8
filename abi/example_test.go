package abi_test

import (
	"errors"
	"fmt"

	"github.com/clawd-go/clawd/abi"
)

// A host turns the raw ClawaError a callback returned into a Go error:
// nil for success, the Code for a known failure, *UnknownCodeError for a
// value ABI v1 does not define (never success).
func Example() {
	for _, raw := range []int32{0, 4, 42} {
		err := abi.Code(raw).Err()
		var unknown *abi.UnknownCodeError
		switch {
		case err == nil:
			fmt.Println(raw, "ok")
		case errors.Is(err, abi.NotFound):
			fmt.Println(raw, "not found:", err)
		case errors.As(err, &unknown):
			fmt.Println(raw, "unknown code:", unknown.Code)
		}
	}
	// Output:
	// 0 ok
	// 4 not found: clawd: NotFound
	// 42 unknown code: 42
}
