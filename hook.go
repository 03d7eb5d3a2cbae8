package clawd

import (
	"context"
	"fmt"
)

// HookPoint names a callback that may give a verdict: a manifest's hooks.
type HookPoint string

// The hook points of ABI v1.
const (
	HookToolCall HookPoint = "tool_call" // on_tool_call
	HookMessage  HookPoint = "message"   // on_message
)

// hookPointOf is the hook point of op; ok is false for an op that gives
// no verdict. Config.Hooked is its one reader.
func hookPointOf(op Op) (HookPoint, bool) {
	switch op {
	case OpToolCall:
		return HookToolCall, true
	case OpMessage:
		return HookMessage, true
	}
	return "", false
}

// VerdictKind is what a hook decided.
type VerdictKind uint8

// The verdicts.
const (
	Continue  VerdictKind = iota // go on with the event as it is
	Intercept                    // go on with the rewritten input or content
	Block                        // stop: the event must not happen
)

func (k VerdictKind) String() string {
	switch k {
	case Continue:
		return "continue"
	case Intercept:
		return "intercept"
	case Block:
		return "block"
	}
	return fmt.Sprintf("verdict(%d)", uint8(k))
}

// Verdict is a hook's decision on one event, or a host's combined one.
type Verdict struct {
	Kind VerdictKind
	// Input is the rewritten input_json of a tool call (Intercept), a JSON
	// object; Content the rewritten content_json of a message, a JSON value.
	// Both are "" unless the verdict rewrote them.
	Input   string
	Content string
	Reason  string // why, for Block
	Plugin  string // the plugin that gave it; "" for Continue
}

// Hooker is implemented by runtimes that take verdicts. Hook runs the call
// like Plugin.Call and returns the verdict the plugin gave during it
// (Continue if none, or if the hook of c's op is not granted). Its error
// is Call's; with an error the verdict is Continue. c's op must be
// OpToolCall or OpMessage (invalid_argument otherwise).
type Hooker interface {
	Hook(ctx context.Context, c Call) (Verdict, error)
}
