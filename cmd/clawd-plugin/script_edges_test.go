package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// playAll reads src and returns the steps' lines and the errors' texts.
func playAll(t *testing.T, src string) (lines []int, errs []string) {
	t.Helper()
	require.NoError(t, readScript(strings.NewReader(src), func(s *step, err error) {
		if err != nil {
			errs = append(errs, err.Error())
			return
		}
		lines = append(lines, s.Line)
	}))
	return lines, errs
}

// An unknown event is reported as such, before any field it lacks; a line
// that is not an object says so in the script's terms, not Go's.
func TestScriptErrorsSayWhatIsWrong(t *testing.T) {
	_, errs := playAll(t, `{"event":"nope"}
[]
{"event":3}
"text"
{"event":"session_start","session":"s1"
`)
	assert.Equal(t, []string{
		`line 1: unknown event "nope" (want session_start, tool_call, message or session_end)`,
		`line 2: not an event object: a JSON object is expected, not an array`,
		`line 3: not an event object: "event" must be a string, not a number`,
		`line 4: not an event object: a JSON object is expected, not a string`,
		`line 5: not an event object: unexpected EOF`,
	}, errs)
}

// A line longer than the limit is refused with its line number, and the
// lines after it are still played; a last line without a newline too.
func TestScriptLongLine(t *testing.T) {
	old := maxScriptLine
	maxScriptLine = 100
	defer func() { maxScriptLine = old }()
	long := `{"event":"session_start","session":"` + strings.Repeat("x", 200) + `"}`
	fits := `{"event":"session_start","session":"` + strings.Repeat("y", 100-38) + `"}`
	require.Len(t, fits, 100)
	lines, errs := playAll(t, `{"event":"session_start","session":"s1"}`+"\n"+long+"\n"+fits+"\n"+`{"event":"session_end","session":"s1"}`)
	assert.Equal(t, []int{1, 3, 4}, lines)
	assert.Equal(t, []string{"line 2: the line is longer than 100 bytes, the longest a script line may be"}, errs)
}

// The longest line really read is far beyond bufio.Scanner's default: a
// 1 MiB line plays.
func TestScriptMegabyteLine(t *testing.T) {
	big := `{"event":"tool_call","session":"s1","tool":"t","input":{"k":"` + strings.Repeat("z", 1<<20) + `"}}`
	lines, errs := playAll(t, big+"\n"+`{"event":"session_end","session":"s1"}`+"\n")
	assert.Empty(t, errs)
	assert.Equal(t, []int{1, 2}, lines)
}
