package isolate_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cbuild"
)

// The host's line about an event it refused says which argument and why,
// as the in-process path's does (boundary.ReadEvent): a
// sandboxed plugin's author sees the same reason.
func TestRefusedEventSaysWhy(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "echo"), clawd.WithCapabilities(abi.CapNetworkRelay))
	for _, tc := range []struct{ tool, input, what, why string }{
		{"send_text:echo.text", `"not an object"`, "params_json", "not a JSON object"},
		{"send:" + strings.Repeat("m", 300), "{}", "method", "no NUL terminator within bound"},
	} {
		r.logs.TakeAll()
		require.NoError(t, r.p.Call(bg, clawd.ToolCall("s", tc.tool, tc.input)))
		var found bool
		for _, m := range r.messages() {
			// The child's loader refuses it first, with the in-process line;
			// its fields reach the host as text after the message.
			if m == "send_event refused: invalid "+tc.what+" error="+tc.why {
				found = true
			}
		}
		require.True(t, found, "%s: no refusal line naming it in %v", tc.what, r.messages())
	}
}
