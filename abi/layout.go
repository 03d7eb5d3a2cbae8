package abi

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
func (p *Plugin) Callback(c Callback) uintptr {
	switch c {
	case OnLoad:
		return p.OnLoad
	case OnUnload:
		return p.OnUnload
	case OnSessionStart:
		return p.OnSessionStart
	case OnSessionEnd:
		return p.OnSessionEnd
	case OnToolCall:
		return p.OnToolCall
	case OnMessage:
		return p.OnMessage
	}
	return 0
}
