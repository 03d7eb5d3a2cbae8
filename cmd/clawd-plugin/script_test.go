package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadScript(t *testing.T) {
	src := `
# a comment
{"event":"session_start","session":"s1"}
{"event":"tool_call","session":"s1","tool":"grep","input":{"pattern":"x"}}
{"event":"tool_call","session":"s1","tool":"ls"}
{"event":"message","session":"s1","role":"user","content":"héllo"}
{"event":"message","session":"s1","role":"robot","content":"x"}
{"event":"tool_call","session":"s1","tool":"grep","input":[1]}
{"event":"reboot","session":"s1"}
{"event":"session_end"}
not json
{"event":"session_end","session":"s1","extra":1}
{"event":"session_end","session":"s1"}
`
	var steps []*step
	var errs []string
	require.NoError(t, readScript(strings.NewReader(src), func(s *step, err error) {
		if err != nil {
			var se *scriptError
			require.True(t, errors.As(err, &se))
			errs = append(errs, err.Error())
			return
		}
		steps = append(steps, s)
	}))
	assert.Equal(t, []*step{
		{Line: 3, Event: "session_start", Session: "s1"},
		{Line: 4, Event: "tool_call", Session: "s1", Tool: "grep", Input: `{"pattern":"x"}`},
		{Line: 5, Event: "tool_call", Session: "s1", Tool: "ls", Input: `{}`},
		{Line: 6, Event: "message", Session: "s1", Role: "user", Content: `"héllo"`},
		{Line: 13, Event: "session_end", Session: "s1"},
	}, steps)
	require.Len(t, errs, 6)
	assert.Equal(t, `line 7: message: "role" must be "user" or "assistant"`, errs[0])
	assert.Equal(t, `line 8: tool_call: "input" must be a JSON object`, errs[1])
	assert.Contains(t, errs[2], `line 9: unknown event "reboot"`)
	assert.Equal(t, `line 10: session_end: missing "session"`, errs[3])
	assert.Contains(t, errs[4], "line 11: not an event object")
	assert.Contains(t, errs[5], `line 12: not an event object: unknown field "extra"`)
}
