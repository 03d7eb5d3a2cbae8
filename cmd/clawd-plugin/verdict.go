package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/host"
)

// hookRecord is a record of a tool_call or message step, with what hooks
// add: an outcome may be skipped (an earlier plugin blocked the event),
// and each such step ends with a record of type "verdict".
type hookRecord struct {
	record
	Skipped bool            `json:"skipped,omitempty"` // outcome: not called, an earlier plugin blocked
	Verdict string          `json:"verdict,omitempty"` // continue, intercept, block
	By      string          `json:"by,omitempty"`      // the plugin that gave the verdict
	Reason  string          `json:"reason,omitempty"`  // block
	Input   json.RawMessage `json:"input,omitempty"`   // intercept of a tool_call: the rewritten input
	Content json.RawMessage `json:"content,omitempty"` // intercept of a message: the rewritten content
}

// playHook dispatches a tool_call or message step through the hooks
// (host.Host.Hook), prints each plugin's outcome and then
// the verdict: "verdict: continue", "verdict: rewritten by NAME: ..." or
// "verdict: blocked by NAME: reason".
func playHook(ctx context.Context, h *host.Host, pr *printer, s *step, sum *summary) {
	var v clawd.Verdict
	var outs []host.HookOutcome
	if s.Event == "tool_call" {
		v, outs = h.Hook(ctx, clawd.ToolCall(s.Session, s.Tool, s.Input))
	} else {
		v, outs = h.Hook(ctx, clawd.Message(s.Session, s.Role, s.Content))
	}
	for _, o := range outs {
		r := hookRecord{record: record{Type: "outcome", Plugin: o.Plugin, Version: o.Version, Event: s.Event, Line: s.Line}}
		switch {
		case o.Skipped:
			r.Skipped = true
		case o.Err == nil:
			ok := true
			us := o.Duration.Round(time.Microsecond).Microseconds()
			r.OK, r.Micros = &ok, &us
			sum.CallsOK++
		default:
			ok := false
			us := o.Duration.Round(time.Microsecond).Microseconds()
			r.OK, r.Micros = &ok, &us
			r.setErr(o.Err)
			sum.CallsFailed++
		}
		if o.Skipped {
			r.By = v.Plugin
		}
		pr.printHook(r)
	}
	r := hookRecord{record: record{Type: "verdict", Event: s.Event, Session: s.Session, Line: s.Line},
		Verdict: v.Kind.String(), By: v.Plugin, Reason: v.Reason}
	if v.Input != "" {
		r.Input = json.RawMessage(v.Input)
	}
	if v.Content != "" {
		r.Content = json.RawMessage(v.Content)
	}
	pr.printHook(r)
}

func (p *printer) printHook(r hookRecord) {
	if p.json {
		r.Schema = schemaVersion
		b, _ := json.Marshal(r)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.w.Write(append(b, '\n'))
		return
	}
	var line string
	switch {
	case r.Type == "verdict" && r.Verdict == clawd.Block.String():
		line = fmt.Sprintf("  verdict: blocked by %s: %s", safe(r.By), safe(r.Reason))
	case r.Type == "verdict" && r.Verdict == clawd.Intercept.String():
		line = fmt.Sprintf("  verdict: rewritten by %s: %s%s", safe(r.By), safe(string(r.Input)), safe(string(r.Content)))
	case r.Type == "verdict":
		line = "  verdict: " + r.Verdict
	case r.Skipped:
		who := r.Plugin
		if r.Version != "" {
			who += " " + r.Version
		}
		line = fmt.Sprintf("  %s: skipped (blocked by %s)", who, r.By)
	default:
		line = human(r.record)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, line)
}
