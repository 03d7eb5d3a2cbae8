package clawerr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
)

func TestErrorUnwrapsToCodeAndCause(t *testing.T) {
	err := fmt.Errorf("dispatch: %w", clawerr.New(clawerr.CallbackError, "echo", "on_tool_call", "", abi.NotFound))
	if !errors.Is(err, clawerr.CallbackError) || !errors.Is(err, abi.NotFound) || errors.Is(err, abi.DaemonError) {
		t.Fatalf("errors.Is does not see through %v", err)
	}
	if got := clawerr.CodeOf(err); got != clawerr.CallbackError {
		t.Fatalf("CodeOf = %q", got)
	}
	if got := clawerr.CodeOf(errors.New("plain")); got != "" {
		t.Fatalf("CodeOf(plain) = %q", got)
	}
	if got := clawerr.CodeOf(clawerr.Timeout); got != clawerr.Timeout {
		t.Fatalf("CodeOf(bare code) = %q", got)
	}
	want := "clawd: echo: on_tool_call: callback_error: clawd: NotFound"
	if err := clawerr.New(clawerr.CallbackError, "echo", "on_tool_call", "", abi.NotFound); err.Error() != want {
		t.Fatalf("got %q, want %q", err.Error(), want)
	}
}

func Example() {
	err := clawerr.New(clawerr.ABIMismatch, "./libold.so", "read vtable", "abi_version is 2, this host speaks 1", nil)
	var e *clawerr.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Plugin)
	}
	fmt.Println(errors.Is(err, clawerr.ABIMismatch))
	fmt.Println(err)
	// Output:
	// abi_mismatch ./libold.so
	// true
	// clawd: ./libold.so: read vtable: abi_mismatch: abi_version is 2, this host speaks 1
}
