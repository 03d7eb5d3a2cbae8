package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// step is one line of an event script (docs/cli.md, "The event script"):
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

// maxScriptLine is the longest script line played (64 MiB, more than the
// largest input a plugin takes). A longer line is refused with its line
// number, and the lines after it are still played.
var maxScriptLine = 64 << 20 // a variable for tests

// readScript calls fn for each line of r: a step, or the error that line
// has. Blank lines and lines starting with # are skipped. The error is the
// reader's, never a line's.
func readScript(r io.Reader, fn func(*step, error)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for n := 1; ; n++ {
		line, long, err := readLine(br, buf[:0])
		buf = line
		if long {
			fn(nil, &scriptError{Line: n, Msg: "the line is longer than " + sizeText(maxScriptLine) + ", the longest a script line may be"})
		} else if line := bytes.TrimSpace(line); len(line) > 0 && line[0] != '#' {
			fn(parseStep(n, line))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readLine appends the next line of br to buf, without its newline. A line
// longer than maxScriptLine is read to its end and dropped: long is true.
func readLine(br *bufio.Reader, buf []byte) (line []byte, long bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !long {
			if len(buf)+len(chunk) > maxScriptLine+1 {
				long, buf = true, buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimSuffix(buf, []byte("\n")), long, err
	}
}

func parseStep(n int, line []byte) (*step, error) {
	bad := func(format string, a ...any) (*step, error) {
		return nil, &scriptError{Line: n, Msg: fmt.Sprintf(format, a...)}
	}
	var raw rawStep
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return bad("not an event object: %s", jsonProblem(err))
	}
	if dec.More() {
		return bad("more than one JSON value on the line")
	}
	if raw.Event == nil {
		return bad(`missing "event"`)
	}
	switch *raw.Event { // what the event is comes first: its fields depend on it
	case "session_start", "session_end", "tool_call", "message":
	default:
		return bad("unknown event %q (want session_start, tool_call, message or session_end)", *raw.Event)
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
	}
	return s, nil
}

// jsonProblem says what is wrong with a line in the script's terms, not in
// Go's (no Go type names).
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return "a JSON object is expected, not " + article(te.Value)
		}
		return fmt.Sprintf("%q must be %s, not %s", te.Field, wantOf(te.Type.Kind()), article(te.Value))
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func wantOf(k reflect.Kind) string {
	if k == reflect.String || k == reflect.Pointer {
		return "a string"
	}
	return "JSON"
}

func article(v string) string {
	switch v {
	case "array", "object":
		return "an " + v
	case "null":
		return "null"
	}
	return "a " + v
}

// sizeText prints a byte count for people: 64 MiB, 12 KiB, 100 bytes.
func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
