// Package abi names the facts of the ClawD plugin C ABI, version 1, that a
// Go program meets: match an error against a ClawaError code, name a
// callback or a capability to grant. It holds the version constant, the
// codes as Go errors, the callbacks and the capability names.
//
// A ClawaError is a Code, and a Code is an error, so a host can write
//
//	if errors.Is(err, abi.CapabilityDenied) { ... }
//
// A value the host does not know (a later minor version may add some) is an
// *UnknownCodeError; it is never treated as success.
package abi

import (
	"strconv"
)

// Version is CLAWD_PLUGIN_ABI_VERSION: the only abi_version this host loads.
const Version = 1

// InitSymbol is the name of the one function a plugin exports.
const InitSymbol = "clawd_plugin_init"

// Code is a ClawaError: the 32-bit status every fallible callback returns.
type Code int32

// The ClawaError values of ABI v1.
const (
	None             Code = 0 // success
	InitFailed       Code = 1 // plugin setup failed
	CallbackError    Code = 2 // a callback failed
	CapabilityDenied Code = 3 // operation not allowed for this plugin
	NotFound         Code = 4 // resource does not exist
	DaemonError      Code = 5 // host-side failure
)

// maxKnownCode is the highest ClawaError value of ABI v1.
const maxKnownCode = DaemonError

var codeNames = [...]string{"None", "InitFailed", "CallbackError", "CapabilityDenied", "NotFound", "DaemonError"}

// Known reports whether c is a ClawaError value of ABI v1.
func (c Code) Known() bool { return c >= None && c <= maxKnownCode }

// String returns the ClawaError's name, or "ClawaError(N)" for an unknown one.
func (c Code) String() string {
	if c.Known() {
		return codeNames[c]
	}
	return "ClawaError(" + strconv.Itoa(int(c)) + ")"
}

// Error makes a Code usable as an error with errors.Is.
func (c Code) Error() string { return "clawd: " + c.String() }

// Err returns nil for None, c itself for a known code, and an
// *UnknownCodeError for anything else: never nil for a failure.
func (c Code) Err() error {
	switch {
	case c == None:
		return nil
	case c.Known():
		return c
	default:
		return &UnknownCodeError{Code: int32(c)}
	}
}

// UnknownCodeError is a ClawaError value that ABI v1 does not define. It is
// an error, never success.
type UnknownCodeError struct {
	Code int32
}

func (e *UnknownCodeError) Error() string {
	return "clawd: unknown ClawaError " + strconv.Itoa(int(e.Code))
}

// Capability is a permission a plugin's manifest asks for.
type Capability string

// The capabilities of ABI v1.
const (
	CapFSRead       Capability = "fs.read"
	CapFSWrite      Capability = "fs.write"
	CapNetworkRelay Capability = "network.relay" // allows send_event
	CapDaemonRPC    Capability = "daemon.rpc"
)

// Capabilities lists every capability of ABI v1, in a stable order.
var Capabilities = []Capability{CapFSRead, CapFSWrite, CapNetworkRelay, CapDaemonRPC}

// Known reports whether c is a capability of ABI v1.
func (c Capability) Known() bool {
	for _, k := range Capabilities {
		if c == k {
			return true
		}
	}
	return false
}

// Callback names one entry of the ClawaPlugin table.
type Callback uint8

// The callbacks of ClawaPlugin, in table order.
const (
	OnLoad Callback = iota
	OnUnload
	OnSessionStart
	OnSessionEnd
	OnToolCall
	OnMessage
	NumCallbacks = 6
)

var callbackNames = [...]string{"on_load", "on_unload", "on_session_start", "on_session_end", "on_tool_call", "on_message"}

// String returns the field name of the callback in the C header.
func (c Callback) String() string {
	if int(c) < len(callbackNames) {
		return callbackNames[c]
	}
	return "callback(" + strconv.Itoa(int(c)) + ")"
}
