package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// step is one line of an event script (DESIGN.md section 4):
//
//	{"event":"session_start","session":"s1"}
//	{"event":"tool_call","session":"s1","tool":"grep","input":{...}}
//	{"event":"message","session":"s1","role":"user","content":"..."}
//	{"event":"session_end","session":"s1"}
//
// input and content are passed to the plugin as the JSON text they are in
// the script: input_json is the object, content_json the JSON value (a
// string keeps its quotes).
type step struct {
	Line    int
	Event   string
	Session string
	Tool    string
	Input   string // JSON text
	Role    string
	Content string // JSON text
}

type rawStep struct {
	Event   *string         `json:"event"`
	Session *string         `json:"session"`
	Tool    *string         `json:"tool"`
	Input   json.RawMessage `json:"input"`
	Role    *string         `json:"role"`
	Content json.RawMessage `json:"content"`
}

// scriptError is a line of the script that cannot be played.
type scriptError struct {
	Line int
	Msg  string
}

func (e *scriptError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

const maxScriptLine = 64 << 20

// readScript calls fn for each line of r: a step, or the error that line
// has. Blank lines and lines starting with # are skipped.
func readScript(r io.Reader, fn func(*step, error)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxScriptLine)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		s, err := parseStep(n, line)
		fn(s, err)
	}
	return sc.Err()
}

func parseStep(n int, line []byte) (*step, error) {
	bad := func(format string, a ...any) (*step, error) {
		return nil, &scriptError{Line: n, Msg: fmt.Sprintf(format, a...)}
	}
	var raw rawStep
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return bad("not an event object: %v", err)
	}
	if dec.More() {
		return bad("more than one JSON value on the line")
	}
	if raw.Event == nil {
		return bad(`missing "event"`)
	}
	if raw.Session == nil || *raw.Session == "" {
		return bad(`%s: missing "session"`, *raw.Event)
	}
	s := &step{Line: n, Event: *raw.Event, Session: *raw.Session}
	switch s.Event {
	case "session_start", "session_end":
	case "tool_call":
		if raw.Tool == nil || *raw.Tool == "" {
			return bad(`tool_call: missing "tool"`)
		}
		s.Tool = *raw.Tool
		s.Input = "{}"
		if len(raw.Input) > 0 {
			if t := strings.TrimSpace(string(raw.Input)); t == "" || t[0] != '{' {
				return bad(`tool_call: "input" must be a JSON object`)
			}
			s.Input = string(raw.Input)
		}
	case "message":
		if raw.Role == nil || (*raw.Role != "user" && *raw.Role != "assistant") {
			return bad(`message: "role" must be "user" or "assistant"`)
		}
		if len(raw.Content) == 0 {
			return bad(`message: missing "content"`)
		}
		s.Role, s.Content = *raw.Role, string(raw.Content)
	default:
		return bad("unknown event %q (want session_start, tool_call, message or session_end)", s.Event)
	}
	return s, nil
}
