package boundary

import (
	"sync/atomic"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
)

// Counters are the ten counters of what crossed one plugin's boundary, the
// one set every runtime keeps; Snapshot is clawd.Stats. Safe for use from
// any goroutine or thread.
type Counters struct {
	Sent, Refused, StaleLogs, StaleEvents, Invalid, Panics, Deep atomic.Uint64
	HookTaken, HookRefused, HookInvalid                          atomic.Uint64
}

// Snapshot is the counters as clawd.Stats.
func (c *Counters) Snapshot() clawd.Stats {
	return clawd.Stats{
		EventsSent: c.Sent.Load(), EventsRefused: c.Refused.Load(),
		StaleLogs: c.StaleLogs.Load(), StaleEvents: c.StaleEvents.Load(),
		InvalidArgs: c.Invalid.Load(), Panics: c.Panics.Load(), DepthExceeded: c.Deep.Load(),
		HookVerdicts: c.HookTaken.Load(), HookRefused: c.HookRefused.Load(), HookInvalid: c.HookInvalid.Load(),
	}
}

// Event counts the answer to one send_event that is no hook event (sent
// for None, refused otherwise) and returns it.
func (c *Counters) Event(code abi.Code) abi.Code { return count(code, &c.Sent, &c.Refused) }

// Hook counts the answer to one hook event (taken for None, refused
// otherwise) and returns it.
func (c *Counters) Hook(code abi.Code) abi.Code { return count(code, &c.HookTaken, &c.HookRefused) }

func count(code abi.Code, ok, refused *atomic.Uint64) abi.Code {
	if code == abi.None {
		ok.Add(1)
	} else {
		refused.Add(1)
	}
	return code
}

// AddStats returns the field-by-field sum of s and t: the counters of
// several instances or processes of one plugin.
func AddStats(s, t clawd.Stats) clawd.Stats {
	s.EventsSent += t.EventsSent
	s.EventsRefused += t.EventsRefused
	s.StaleLogs += t.StaleLogs
	s.StaleEvents += t.StaleEvents
	s.InvalidArgs += t.InvalidArgs
	s.Panics += t.Panics
	s.DepthExceeded += t.DepthExceeded
	s.HookVerdicts += t.HookVerdicts
	s.HookRefused += t.HookRefused
	s.HookInvalid += t.HookInvalid
	return s
}
