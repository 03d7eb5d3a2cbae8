// Package clawerr lets a program branch on a failure of any part of clawd-go
// without parsing messages: every error carries one of the stable codes
// defined here (open_failed ... closed), read with CodeOf or matched with
// errors.Is, in the Error type that carries them:
//
//	p, err := loader.Open(path)
//	if errors.Is(err, clawerr.ABIMismatch) { ... }
//	var e *clawerr.Error
//	if errors.As(err, &e) { log(e.Code, e.Plugin) }
//
// The codes are part of the command-line contract (inspect --json prints
// them) and never change meaning.
package clawerr

import (
	"errors"
	"strings"
)

// Code is a stable, machine-readable error code. A Code is an error, so
// errors.Is(err, clawerr.Timeout) works on any error that carries it.
type Code string

// Load-time codes.
const (
	OpenFailed         Code = "open_failed"         // the dynamic loader refused the file
	MissingInit        Code = "missing_init"        // no clawd_plugin_init symbol
	InitNull           Code = "init_null"           // clawd_plugin_init returned NULL
	ABIMismatch        Code = "abi_mismatch"        // abi_version is not 1
	ReservedSlotSet    Code = "reserved_slot_set"   // a reserved vtable slot is not NULL
	BadName            Code = "bad_name"            // name unreadable, unterminated or not UTF-8; or a plugin name no plugin directory may hold
	BadVersion         Code = "bad_version"         // version unreadable, unterminated or not UTF-8
	OnLoadFailed       Code = "on_load_failed"      // on_load returned an error
	ManifestInvalid    Code = "manifest_invalid"    // the manifest does not parse or validate
	ChecksumMismatch   Code = "checksum_mismatch"   // the library's sha256 differs from the pin
	SignatureInvalid   Code = "signature_invalid"   // the signature does not verify
	Unsigned           Code = "unsigned"            // no signature where one is required
	CapabilityUnknown  Code = "capability_unknown"  // the manifest names an unknown capability
	RuntimeUnsupported Code = "runtime_unsupported" // a runtime this host does not run
)

// Call-time codes.
const (
	CallbackError   Code = "callback_error"   // the callback returned a ClawaError
	UnknownCode     Code = "unknown_code"     // the callback returned a value ABI v1 does not define
	InvalidArgument Code = "invalid_argument" // an argument cannot cross the boundary
	Crashed         Code = "crashed"          // the plugin's process died
	Timeout         Code = "timeout"          // the plugin did not answer in time
	Unavailable     Code = "unavailable"      // the plugin cannot take calls now
	Closed          Code = "closed"           // the plugin was closed
)

// Package codes: installing, updating and removing plugin packages
// (package install). signature_invalid and checksum_mismatch serve
// packages, indexes and installed trees too.
const (
	NotFound        Code = "not_found"        // no such plugin, version, package or index
	UnsafeArchive   Code = "unsafe_archive"   // an archive entry, or a link in the installer's state, that could write outside its directory; or too much
	ConsentRequired Code = "consent_required" // capabilities nobody agreed to grant
	IndexStale      Code = "index_stale"      // an index older than one already seen (a rollback)
	Incompatible    Code = "incompatible"     // no build for this platform, runtime or ABI version
	Busy            Code = "busy"             // another installer works on the plugin directory
)

func (c Code) Error() string { return string(c) }

// Error is a failure with a stable code, the plugin it concerns and the
// operation that failed. It unwraps to its Code and to its cause, so both
// errors.Is(err, clawerr.CallbackError) and errors.Is(err, abi.NotFound)
// hold for a callback that returned CLAWA_ERROR_NOT_FOUND.
type Error struct {
	Code   Code   // stable code
	Plugin string // plugin name, or the library path before the name is known
	Op     string // what was being done: "open", "on_load", "on_tool_call", ...
	Detail string // human-readable detail, may be empty
	Err    error  // cause, may be nil
}

// New returns an *Error.
func New(code Code, plugin, op, detail string, cause error) *Error {
	return &Error{Code: code, Plugin: plugin, Op: op, Detail: detail, Err: cause}
}

// Error reads "clawd: PLUGIN: OP: CODE: DETAIL: CAUSE", the empty parts
// left out. A cause that is an *Error is written without what this one
// already said (its plugin, op and code when they are the same) and a
// cause's own "clawd: " is dropped, so a message says clawd: once and each
// code once. A callback_error's cause is the ClawaError the callback
// returned, and reads so.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("clawd: ")
	e.write(&b, nil, "")
	return b.String()
}

// write writes e without the "clawd: " prefix and without the parts that
// repeat parent, the *Error e is the cause of (nil at the top), nor the
// code said, if any.
func (e *Error) write(b *strings.Builder, parent *Error, said Code) {
	sep := false
	part := func(s string) {
		if s == "" {
			return
		}
		if sep {
			b.WriteString(": ")
		}
		b.WriteString(s)
		sep = true
	}
	samePlugin := parent != nil && e.Plugin == parent.Plugin
	if !samePlugin {
		part(e.Plugin)
	}
	if !samePlugin || e.Op != parent.Op {
		part(e.Op)
	}
	if e.Code != said {
		part(string(e.Code))
	}
	part(e.Detail)
	if e.Err == nil {
		return
	}
	if c, ok := e.Err.(*Error); ok {
		var cb strings.Builder
		c.write(&cb, e, e.Code)
		part(cb.String())
		return
	}
	cause := strings.TrimPrefix(e.Err.Error(), "clawd: ")
	if e.Code == CallbackError && e.Detail == "" {
		cause = "the callback returned " + cause
	}
	part(cause)
}

// Message is err's text for a line that shows its code already
// ("CODE: message"): the text of err without "clawd: " and without that
// code, each said once by the line itself.
func Message(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := err.(*Error); ok {
		var b strings.Builder
		e.write(&b, nil, e.Code)
		return b.String()
	}
	s := strings.Replace(err.Error(), "clawd: ", "", 1)
	if c := CodeOf(err); c != "" {
		s = strings.Replace(s, string(c)+": ", "", 1)
	}
	return s
}

// Unwrap returns the code and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Code}
	}
	return []error{e.Code, e.Err}
}

// CodeOf returns the stable code carried by err, or "" if it has none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var c Code
	if errors.As(err, &c) {
		return c
	}
	return ""
}
