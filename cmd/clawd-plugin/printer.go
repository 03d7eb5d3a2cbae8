package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd/clawerr"
)

// printer writes what `run` shows: plugin log lines, events, the outcome
// of each scripted event and a summary, as lines a person reads or, with
// --json, as one JSON object per line. Plugins log from their own threads,
// so every line is written whole under a lock.
type printer struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

// record is one output line; Type says which fields matter.
type record struct {
	Schema  int             `json:"schema"` // the version of these shapes (docs/cli.md); set by print
	Type    string          `json:"type"`   // log, event, step, outcome, plugin, error, summary
	Plugin  string          `json:"plugin,omitempty"`
	Version string          `json:"version,omitempty"`
	Level   string          `json:"level,omitempty"`
	Source  string          `json:"source,omitempty"` // log: "plugin" (the plugin's own line) or "host" (the host's or its runtime's)
	Msg     string          `json:"msg,omitempty"`
	Fields  map[string]any  `json:"fields,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Line    int             `json:"line,omitempty"`
	Event   string          `json:"event,omitempty"`
	Session string          `json:"session,omitempty"`
	Tool    string          `json:"tool,omitempty"` // step: a tool_call's tool
	Role    string          `json:"role,omitempty"` // step: a message's role
	OK      *bool           `json:"ok,omitempty"`
	Code    string          `json:"code,omitempty"`
	Error   string          `json:"error,omitempty"`
	Micros  *int64          `json:"micros,omitempty"`
	State   string          `json:"state,omitempty"`
	Sandbox string          `json:"sandbox,omitempty"` // plugin: "native", or "process: " and what the OS enforces
	Summary *summary        `json:"summary,omitempty"`

	text string // the text lines show for Error: clawerr.Message, its code said once by the line
}

// setErr sets the record's code and error from err: Error is the whole
// message (--json), text the message without its code (the line shows it).
func (r *record) setErr(err error) {
	r.Code, r.Error, r.text = string(clawerr.CodeOf(err)), err.Error(), clawerr.Message(err)
}

func errorRecord(err error) record {
	r := record{Type: "error"}
	r.setErr(err)
	return r
}

// errText is what a line shows of the record's error: without its code
// (shown before it) and without the plugin's name (shown before that);
// a crash report's stderr lines follow, each made safe and indented.
func (r record) errText(indent string) string {
	msg := r.Error
	if r.text != "" {
		msg = strings.TrimPrefix(r.text, r.Plugin+": ")
	}
	return safeLines(msg, indent)
}

type summary struct {
	Events      int `json:"events"`
	BadLines    int `json:"bad_lines"`
	Plugins     int `json:"plugins"`
	Failed      int `json:"failed_plugins"`
	CallsOK     int `json:"calls_ok"`
	CallsFailed int `json:"calls_failed"`
	EventsSent  int `json:"events_sent"`
}

func (p *printer) print(r record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		r.Schema = schemaVersion
		b, _ := json.Marshal(r)
		p.w.Write(append(b, '\n'))
		return
	}
	fmt.Fprintln(p.w, human(r))
}

func human(r record) string {
	who := safe(r.Plugin)
	if r.Version != "" {
		who += " " + safe(r.Version)
	}
	switch r.Type {
	case "log":
		switch {
		case who == "":
			who = "host"
		case r.Source != "plugin": // the host's line about a plugin
			who = "host: " + who
		}
		return fmt.Sprintf("log    %-5s %s: %s%s", r.Level, who, safe(r.Msg), kv(r.Fields))
	case "event":
		return fmt.Sprintf("event  %s: %s %s", who, safe(r.Method), safe(string(r.Params)))
	case "step":
		detail := ""
		switch {
		case r.Tool != "":
			detail = " " + safe(r.Tool)
		case r.Role != "":
			detail = " " + safe(r.Role)
		}
		return fmt.Sprintf("> %s %s%s", safe(r.Event), safe(r.Session), detail)
	case "outcome":
		t := ""
		if r.Micros != nil {
			t = " (" + duration(time.Duration(*r.Micros)*time.Microsecond) + ")"
		}
		if r.OK != nil && *r.OK {
			return fmt.Sprintf("  %s: ok%s", who, t)
		}
		return fmt.Sprintf("  %s: %s%s: %s", who, r.Code, t, r.errText("      "))
	case "plugin":
		if r.Error != "" {
			code := ""
			if r.text != "" {
				code = r.Code + ": "
			}
			return fmt.Sprintf("plugin %s: %s: %s%s", who, r.State, code, r.errText("      "))
		}
		if strings.HasPrefix(r.Sandbox, "process") {
			return fmt.Sprintf("plugin %s: %s (sandbox %s)", who, r.State, safe(r.Sandbox))
		}
		return fmt.Sprintf("plugin %s: %s", who, r.State)
	case "error":
		if r.Line > 0 {
			return fmt.Sprintf("error  script line %d: %s", r.Line, r.errText("       "))
		}
		if r.text != "" { // an error with a code: the code, then the message
			return fmt.Sprintf("error  %s: %s", r.Code, r.errText("       "))
		}
		return "error  " + r.errText("       ")
	case "summary":
		s := r.Summary
		return fmt.Sprintf("summary: %s (%s), %s (%d failed), %d calls ok, %d failed, %s sent",
			plural(s.Events, "event", "events"), plural(s.BadLines, "bad line", "bad lines"),
			plural(s.Plugins, "plugin", "plugins"), s.Failed, s.CallsOK, s.CallsFailed,
			plural(s.EventsSent, "event", "events"))
	}
	return safe(fmt.Sprintf("%+v", r))
}

func kv(m map[string]any) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", safe(k), safeLines(fmt.Sprint(m[k]), "      "))
	}
	return b.String()
}

// core is a zapcore.Core that turns log entries into printer lines. The
// plugin and version fields the loader attaches become the line's owner.
type core struct {
	p      *printer
	level  zapcore.LevelEnabler
	fields []zapcore.Field
}

func (c *core) Enabled(l zapcore.Level) bool { return c.level.Enabled(l) }

func (c *core) With(fs []zapcore.Field) zapcore.Core {
	return &core{p: c.p, level: c.level, fields: append(append([]zapcore.Field(nil), c.fields...), fs...)}
}

func (c *core) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *core) Write(e zapcore.Entry, fs []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	// A plugin's logger carries its name from With (every runtime makes
	// one for it); the host names a plugin in the line's own fields. That
	// is what tells the host's lines about a plugin from the plugin's.
	_, viaPlugin := enc.Fields["plugin"].(string)
	for _, f := range fs {
		f.AddTo(enc)
	}
	r := record{Type: "log", Level: e.Level.String(), Msg: e.Message, Fields: enc.Fields, Source: "host"}
	if viaPlugin {
		r.Source = "plugin"
	}
	if s, ok := enc.Fields["plugin"].(string); ok {
		r.Plugin = s
		delete(enc.Fields, "plugin")
	}
	if s, ok := enc.Fields["version"].(string); ok {
		r.Version = s
		delete(enc.Fields, "version")
	}
	c.p.print(r)
	return nil
}

func (c *core) Sync() error { return nil }
