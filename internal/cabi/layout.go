// Package cabi mirrors the C structs of the ClawD plugin ABI v1 (ClawaPlugin,
// ClawaContext) for the runtimes that read or build them in native memory.
package cabi

import "github.com/clawd-go/clawd/abi"

// Reserved is the number of reserved slots at the end of each struct.
const Reserved = 8

// Plugin mirrors ClawaPlugin (136 bytes, alignment 8 on LP64 and Win64).
// It describes memory owned by the plugin; the host only reads it.
type Plugin struct {
	ABIVersion     uint32
	_              uint32 // padding
	Name           uintptr
	Version        uintptr
	OnLoad         uintptr
	OnUnload       uintptr
	OnSessionStart uintptr
	OnSessionEnd   uintptr
	OnToolCall     uintptr
	OnMessage      uintptr
	Reserved       [Reserved]uintptr
}

// Context mirrors ClawaContext (88 bytes). The host places it outside the
// Go heap; the plugin only reads it.
type Context struct {
	Inner     uintptr
	SendEvent uintptr
	Log       uintptr
	Reserved  [Reserved]uintptr
}

// Sizes of the C structs on LP64 and Win64.
const (
	SizeofPlugin  = 136
	SizeofContext = 88
)

// Callback returns the function pointer of callback c in the table.
func (p *Plugin) Callback(c abi.Callback) uintptr {
	switch c {
	case abi.OnLoad:
		return p.OnLoad
	case abi.OnUnload:
		return p.OnUnload
	case abi.OnSessionStart:
		return p.OnSessionStart
	case abi.OnSessionEnd:
		return p.OnSessionEnd
	case abi.OnToolCall:
		return p.OnToolCall
	case abi.OnMessage:
		return p.OnMessage
	}
	return 0
}

// LogLevel is the level argument of ClawaContext.log.
type LogLevel uint8

// The log levels of ABI v1. Any other value is logged at warn.
const (
	LogTrace LogLevel = 0
	LogDebug LogLevel = 1
	LogInfo  LogLevel = 2
	LogWarn  LogLevel = 3
	LogError LogLevel = 4
)
