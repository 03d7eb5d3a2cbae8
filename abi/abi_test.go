package abi_test

import (
	"errors"
	"fmt"
	"testing"
	"unsafe"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cabi"
)

func TestCodeErr(t *testing.T) {
	for _, tc := range []struct {
		code    abi.Code
		known   bool
		name    string
		wantNil bool
	}{
		{abi.None, true, "None", true},
		{abi.InitFailed, true, "InitFailed", false},
		{abi.CallbackError, true, "CallbackError", false},
		{abi.CapabilityDenied, true, "CapabilityDenied", false},
		{abi.NotFound, true, "NotFound", false},
		{abi.DaemonError, true, "DaemonError", false},
		{6, false, "ClawaError(6)", false},
		{42, false, "ClawaError(42)", false},
		{-1, false, "ClawaError(-1)", false},
		{-2147483648, false, "ClawaError(-2147483648)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.code.Known(); got != tc.known {
				t.Errorf("Known() = %v, want %v", got, tc.known)
			}
			if got := tc.code.String(); got != tc.name {
				t.Errorf("String() = %q, want %q", got, tc.name)
			}
			if got := tc.code.Error(); got != "clawd: "+tc.name {
				t.Errorf("Error() = %q", got)
			}
			err := tc.code.Err()
			if (err == nil) != tc.wantNil {
				t.Fatalf("Err() = %v, want nil: %v", err, tc.wantNil)
			}
			if err == nil {
				return
			}
			var unk *abi.UnknownCodeError
			isUnknown := errors.As(err, &unk)
			if isUnknown == tc.known {
				t.Errorf("errors.As(%v, *UnknownCodeError) = %v for a known=%v code", err, isUnknown, tc.known)
			}
			if isUnknown && unk.Code != int32(tc.code) {
				t.Errorf("UnknownCodeError.Code = %d, want %d", unk.Code, tc.code)
			}
			if tc.known && !errors.Is(err, tc.code) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.code)
			}
			// A failure never matches success or another code.
			for c := abi.None; c <= abi.DaemonError; c++ {
				if c != tc.code && errors.Is(err, c) {
					t.Errorf("errors.Is(%v, %v) = true", err, c)
				}
			}
		})
	}
}

func TestCodeIsThroughWrapping(t *testing.T) {
	err := fmt.Errorf("on_tool_call: %w", abi.NotFound.Err())
	if !errors.Is(err, abi.NotFound) || errors.Is(err, abi.CallbackError) {
		t.Errorf("wrapped NotFound: errors.Is gives the wrong answer: %v", err)
	}
	err = fmt.Errorf("on_tool_call: %w", abi.Code(42).Err())
	var unk *abi.UnknownCodeError
	if !errors.As(err, &unk) || unk.Code != 42 {
		t.Errorf("wrapped unknown code: errors.As = %v, %+v", errors.As(err, &unk), unk)
	}
	if got := unk.Error(); got != "clawd: unknown ClawaError 42" {
		t.Errorf("UnknownCodeError.Error() = %q", got)
	}
}

func TestCapabilityKnown(t *testing.T) {
	for _, tc := range []struct {
		c     abi.Capability
		known bool
	}{
		{"fs.read", true},
		{"fs.write", true},
		{"network.relay", true},
		{"daemon.rpc", true},
		{"", false},
		{"network", false},
		{"FS.READ", false},
		{"fs.read ", false},
		{"fs.exec", false},
	} {
		if got := tc.c.Known(); got != tc.known {
			t.Errorf("Capability(%q).Known() = %v, want %v", tc.c, got, tc.known)
		}
	}
	if len(abi.Capabilities) != 4 {
		t.Errorf("Capabilities has %d entries, want 4", len(abi.Capabilities))
	}
}

func TestNames(t *testing.T) {
	callbacks := []string{"on_load", "on_unload", "on_session_start", "on_session_end", "on_tool_call", "on_message"}
	if len(callbacks) != abi.NumCallbacks {
		t.Fatalf("NumCallbacks = %d", abi.NumCallbacks)
	}
	for i, want := range callbacks {
		if got := abi.Callback(i).String(); got != want {
			t.Errorf("Callback(%d) = %q, want %q", i, got, want)
		}
	}
	if got := abi.Callback(abi.NumCallbacks).String(); got != "callback(6)" {
		t.Errorf("Callback(6) = %q", got)
	}
}

func TestConstants(t *testing.T) {
	if abi.Version != 1 || cabi.Reserved != 8 || abi.InitSymbol != "clawd_plugin_init" {
		t.Errorf("Version=%d Reserved=%d InitSymbol=%q", abi.Version, cabi.Reserved, abi.InitSymbol)
	}
	levels := []cabi.LogLevel{cabi.LogTrace, cabi.LogDebug, cabi.LogInfo, cabi.LogWarn, cabi.LogError}
	for i, l := range levels {
		if int(l) != i {
			t.Errorf("log level %d has value %d", i, l)
		}
	}
}

// TestLayout pins every field of the mirrors to the tables of docs/abi.md
// (LP64 and Win64). include/layout_test.go checks the same against a C
// compiler.
func TestLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the ABI table is for 8-byte pointers")
	}
	var p cabi.Plugin
	var c cabi.Context
	for _, tc := range []struct {
		field       string
		off, size   uintptr
		wOff, wSize uintptr
	}{
		{"Plugin.ABIVersion", unsafe.Offsetof(p.ABIVersion), unsafe.Sizeof(p.ABIVersion), 0, 4},
		{"Plugin.Name", unsafe.Offsetof(p.Name), unsafe.Sizeof(p.Name), 8, 8},
		{"Plugin.Version", unsafe.Offsetof(p.Version), unsafe.Sizeof(p.Version), 16, 8},
		{"Plugin.OnLoad", unsafe.Offsetof(p.OnLoad), unsafe.Sizeof(p.OnLoad), 24, 8},
		{"Plugin.OnUnload", unsafe.Offsetof(p.OnUnload), unsafe.Sizeof(p.OnUnload), 32, 8},
		{"Plugin.OnSessionStart", unsafe.Offsetof(p.OnSessionStart), unsafe.Sizeof(p.OnSessionStart), 40, 8},
		{"Plugin.OnSessionEnd", unsafe.Offsetof(p.OnSessionEnd), unsafe.Sizeof(p.OnSessionEnd), 48, 8},
		{"Plugin.OnToolCall", unsafe.Offsetof(p.OnToolCall), unsafe.Sizeof(p.OnToolCall), 56, 8},
		{"Plugin.OnMessage", unsafe.Offsetof(p.OnMessage), unsafe.Sizeof(p.OnMessage), 64, 8},
		{"Plugin.Reserved", unsafe.Offsetof(p.Reserved), unsafe.Sizeof(p.Reserved), 72, 64},
		{"Plugin", 0, unsafe.Sizeof(p), 0, 136},
		{"Context.Inner", unsafe.Offsetof(c.Inner), unsafe.Sizeof(c.Inner), 0, 8},
		{"Context.SendEvent", unsafe.Offsetof(c.SendEvent), unsafe.Sizeof(c.SendEvent), 8, 8},
		{"Context.Log", unsafe.Offsetof(c.Log), unsafe.Sizeof(c.Log), 16, 8},
		{"Context.Reserved", unsafe.Offsetof(c.Reserved), unsafe.Sizeof(c.Reserved), 24, 64},
		{"Context", 0, unsafe.Sizeof(c), 0, 88},
		{"Code", 0, unsafe.Sizeof(abi.Code(0)), 0, 4},
	} {
		if tc.off != tc.wOff || tc.size != tc.wSize {
			t.Errorf("%s at %d size %d, want at %d size %d", tc.field, tc.off, tc.size, tc.wOff, tc.wSize)
		}
	}
	if unsafe.Alignof(p) != 8 || unsafe.Alignof(c) != 8 {
		t.Errorf("alignment: Plugin %d, Context %d, want 8", unsafe.Alignof(p), unsafe.Alignof(c))
	}
	if cabi.SizeofPlugin != unsafe.Sizeof(p) || cabi.SizeofContext != unsafe.Sizeof(c) {
		t.Errorf("SizeofPlugin=%d SizeofContext=%d", cabi.SizeofPlugin, cabi.SizeofContext)
	}
}

func TestPluginCallback(t *testing.T) {
	p := cabi.Plugin{OnLoad: 1, OnUnload: 2, OnSessionStart: 3, OnSessionEnd: 4, OnToolCall: 5, OnMessage: 6}
	for cb := abi.Callback(0); cb < abi.NumCallbacks; cb++ {
		if got := p.Callback(cb); got != uintptr(cb)+1 {
			t.Errorf("Callback(%v) = %d, want %d", cb, got, cb+1)
		}
	}
	if got := p.Callback(abi.NumCallbacks); got != 0 {
		t.Errorf("Callback(out of range) = %d, want 0", got)
	}
}
