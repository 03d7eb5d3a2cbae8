package clawerr_test

import (
	"errors"
	"fmt"
	"strings"
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
	want := "clawd: echo: on_tool_call: callback_error: the callback returned NotFound"
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

// A message says clawd: once and each code once, however the errors nest;
// Message leaves out the code for a line that shows it already.
func TestMessagesDoNotRepeatThemselves(t *testing.T) {
	crash := clawerr.New(clawerr.Crashed, "u", "on_tool_call", "the child process crashed with signal SIGSEGV", nil)
	for _, tc := range []struct {
		err       error
		text, msg string
	}{
		{clawerr.New(clawerr.CallbackError, "u", "on_tool_call", "", abi.CallbackError),
			"clawd: u: on_tool_call: callback_error: the callback returned CallbackError",
			"u: on_tool_call: the callback returned CallbackError"},
		{clawerr.New(clawerr.CallbackError, "u", "on_message", "", abi.NotFound),
			"clawd: u: on_message: callback_error: the callback returned NotFound",
			"u: on_message: the callback returned NotFound"},
		{clawerr.New(clawerr.Unavailable, "u", "on_tool_call", "the plugin's process crashed and is being restarted", crash),
			"clawd: u: on_tool_call: unavailable: the plugin's process crashed and is being restarted: crashed: the child process crashed with signal SIGSEGV",
			"u: on_tool_call: the plugin's process crashed and is being restarted: crashed: the child process crashed with signal SIGSEGV"},
		{clawerr.New(clawerr.CapabilityUnknown, "/p", "manifest", "", clawerr.New(clawerr.CapabilityUnknown, "/p", "manifest", "plugin.toml:4: unknown capability", nil)),
			"clawd: /p: manifest: capability_unknown: plugin.toml:4: unknown capability",
			"/p: manifest: plugin.toml:4: unknown capability"},
		{clawerr.New(clawerr.ManifestInvalid, "p", "load", "", clawerr.New(clawerr.NotFound, "q", "open", "gone", nil)),
			"clawd: p: load: manifest_invalid: q: open: not_found: gone",
			"p: load: q: open: not_found: gone"},
		{fmt.Errorf("reading: %w", clawerr.New(clawerr.Timeout, "p", "on_load", "", errors.New("clawd: deadline"))),
			"reading: clawd: p: on_load: timeout: deadline",
			"reading: p: on_load: deadline"},
	} {
		text := tc.err.Error()
		if text != tc.text {
			t.Errorf("Error() = %q\n          want %q", text, tc.text)
		}
		if got := clawerr.Message(tc.err); got != tc.msg {
			t.Errorf("Message() = %q\n            want %q", got, tc.msg)
		}
		if n := strings.Count(text, "clawd: "); n != 1 {
			t.Errorf("%q says clawd: %d times", text, n)
		}
		if c := string(clawerr.CodeOf(tc.err)); strings.Count(text, c) != 1 || strings.Contains(clawerr.Message(tc.err), c) {
			t.Errorf("%q: code %s said more than once, or in Message", text, c)
		}
	}
	if clawerr.Message(nil) != "" {
		t.Error("Message(nil) is not empty")
	}
}
