package cabi

import "github.com/clawd-go/clawd/abi"

// ArgName is the C parameter name of string argument i (after the
// context) of event callback cb, as the ABI's header names it
// ("session_id", "tool_name", ...): what a refusal of that argument names.
// "" for a callback or an index that has none.
func ArgName(cb abi.Callback, i int) string {
	var names []string
	switch cb {
	case abi.OnSessionStart, abi.OnSessionEnd:
		names = []string{"session_id"}
	case abi.OnToolCall:
		names = []string{"session_id", "tool_name", "input_json"}
	case abi.OnMessage:
		names = []string{"session_id", "role", "content_json"}
	}
	if i < 0 || i >= len(names) {
		return ""
	}
	return names[i]
}
