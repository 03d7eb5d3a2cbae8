package clawd

import (
	"context"
	"encoding/json"
)

// Event is what a plugin sent with send_event. Everything in it is a copy:
// the sink may keep it.
type Event struct {
	Plugin  string          // the plugin's name
	Version string          // the plugin's version
	Method  string          // non-empty UTF-8
	Params  json.RawMessage // a JSON object
}

// Sink receives the events of a plugin. It runs on the thread that called
// send_event, which may be the plugin's own; it may call back into the
// host, including into the same plugin. ctx is the context of the call the
// event was sent from, on the thread that made the call; an event from a
// plugin's own thread gets context.Background. Its answer is what the plugin's send_event
// returns: nil is CLAWA_ERROR_NONE, an abi.Code is that code, any other
// error is DaemonError.
type Sink interface {
	Deliver(ctx context.Context, e Event) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(context.Context, Event) error

// Deliver calls f.
func (f SinkFunc) Deliver(ctx context.Context, e Event) error { return f(ctx, e) }

// Stats counts what a plugin did through its contexts.
type Stats struct {
	EventsSent    uint64 // delivered to the sink and accepted
	EventsRefused uint64 // refused: capability, arguments, depth, or the sink's answer
	StaleLogs     uint64 // log calls on a context whose callback had returned
	StaleEvents   uint64 // send_event calls on such a context
	InvalidArgs   uint64 // NULL, non-UTF-8, oversize or malformed arguments
	Panics        uint64 // Go panics recovered in a trampoline or sink
	DepthExceeded uint64 // send_event refused for nesting too deep
	// Hook events (clawd.Hooker), never in EventsSent or EventsRefused:
	HookVerdicts uint64 // taken as a verdict
	HookRefused  uint64 // refused: no Hook call, not granted, another thread, a stale context, a call nested below it, or an invalid payload
	HookInvalid  uint64 // of HookRefused: an invalid payload (also counted in InvalidArgs)
}
