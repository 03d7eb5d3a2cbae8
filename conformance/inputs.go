package conformance

import (
	"context"
	"errors"
	"strings"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
)

// call is one event the checks send a plugin.
type call struct {
	cb    abi.Callback
	label string    // where the child is while it runs, for crash messages
	args  [3]string // session_id, then tool_name/role and the JSON text
}

// do sends the call through the plugin interface, so the same checks run
// against every runtime (a shared library here, a WASM module in the wasm
// runtime).
func (k call) do(p clawd.Plugin) error {
	ctx := context.Background()
	switch k.cb {
	case abi.OnSessionStart:
		return p.Call(ctx, clawd.SessionStart(k.args[0]))
	case abi.OnSessionEnd:
		return p.Call(ctx, clawd.SessionEnd(k.args[0]))
	case abi.OnToolCall:
		return p.Call(ctx, clawd.ToolCall(k.args[0], k.args[1], k.args[2]))
	case abi.OnMessage:
		return p.Call(ctx, clawd.Message(k.args[0], k.args[1], k.args[2]))
	}
	return nil
}

// returned is the raw ClawaError a call's error carries: 0 for nil, the
// code for a known one, the value for an unknown one; ok is false for an
// error that is not the plugin's answer.
func returned(err error) (code int32, ok bool) {
	if err == nil {
		return 0, true
	}
	var u *abi.UnknownCodeError
	if errors.As(err, &u) {
		return u.Code, true
	}
	var c abi.Code
	if errors.As(err, &c) {
		return int32(c), true
	}
	return 0, false
}

// events builds one call per event callback with the given strings; the
// label says which input it carries.
func eventCalls(what, sess, tool, input, content string) []call {
	return []call{
		{cb: abi.OnSessionStart, label: "on_session_start (" + what + ")", args: [3]string{sess}},
		{cb: abi.OnToolCall, label: "on_tool_call (" + what + ")", args: [3]string{sess, tool, input}},
		{cb: abi.OnMessage, label: "on_message (" + what + ", role user)", args: [3]string{sess, "user", content}},
		{cb: abi.OnMessage, label: "on_message (" + what + ", role assistant)", args: [3]string{sess, "assistant", content}},
		{cb: abi.OnSessionEnd, label: "on_session_end (" + what + ")", args: [3]string{sess}},
	}
}

// workload is a short, ordinary session: what the context, hygiene,
// timing and lifecycle checks run the plugin through.
func workload() []call {
	return eventCalls("small input", "conformance-session-1", "conformance_probe",
		`{"query":"hello","limit":3}`, `{"text":"hello from the conformance suite"}`)
}

// emptyInputs: empty ids and names, and "" (an empty JSON string) where
// the ABI promises a JSON text; role stays "user"/"assistant" as promised.
func emptyInputs() []call { return eventCalls("empty strings", "", "", `""`, `""`) }

// utf8Inputs put two-, three- and four-byte UTF-8 in every string.
func utf8Inputs() []call {
	const s = "séance-日本語-🦀"
	return eventCalls("multi-byte UTF-8", s, "outil_größe_工具",
		`{"text":"héllo wörld — 日本語 🦀 𝄞","emoji":"👩‍💻","ключ":"значение"}`,
		`{"text":"ça va? 你好 🎉"}`)
}

// largeInputs give on_tool_call and on_message exactly 1 MiB of JSON.
func largeInputs() []call {
	big := largeJSON(1 << 20)
	return onlyJSON(eventCalls("1 MiB JSON", "conformance-session-large", "conformance_probe", big, big))
}

// deepInputs give on_tool_call and on_message JSON nested deeper than
// any sane document: 10000 levels, what Go's encoding/json accepts.
func deepInputs() []call {
	deep := deepJSON(10000)
	return onlyJSON(eventCalls("JSON nested 10000 deep", "conformance-session-deep", "conformance_probe", deep, deep))
}

func onlyJSON(calls []call) []call {
	var out []call
	for _, c := range calls {
		if c.cb == abi.OnToolCall || c.cb == abi.OnMessage {
			out = append(out, c)
		}
	}
	return out
}

// largeJSON is a valid JSON object of exactly n bytes: an array of small
// records, then a string that pads it to size.
func largeJSON(n int) string {
	var b strings.Builder
	b.Grow(n)
	b.WriteString(`{"items":[`)
	const rec = `{"id":12345,"name":"item","tags":["a","b"],"ok":true},`
	for b.Len()+len(rec)+64 < n/2 {
		b.WriteString(rec)
	}
	b.WriteString(`{"id":0}],"pad":"`)
	for b.Len() < n-2 {
		b.WriteByte('x')
	}
	b.WriteString(`"}`)
	return b.String()
}

// deepJSON nests objects and arrays alternately, depth levels in all.
func deepJSON(depth int) string {
	var b strings.Builder
	for i := 0; i < depth; i++ {
		if i%2 == 0 {
			b.WriteString(`{"a":`)
		} else {
			b.WriteString(`[`)
		}
	}
	b.WriteString("0")
	for i := depth - 1; i >= 0; i-- {
		if i%2 == 0 {
			b.WriteString(`}`)
		} else {
			b.WriteString(`]`)
		}
	}
	return b.String()
}
