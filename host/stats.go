package host

import (
	"sync/atomic"
	"time"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/batch"
)

// Stats are the counters of one plugin, summed over every instance it had
// (reloads keep counting).
type Stats struct {
	Calls   uint64                  // callbacks called through the host
	Errors  map[clawerr.Code]uint64 // failed calls by code (only codes seen); "" for an error without one
	Latency Latency
	// Context holds what the plugin did through its contexts: events sent
	// and refused, stale-context uses (StaleLogs, StaleEvents), invalid
	// arguments, recovered panics.
	Context        clawd.Stats
	Reloads        uint64   // successful swaps
	ReloadFailures uint64   // reloads that kept the old instance
	Crashes        uint64   // process sandbox: children that died or were killed
	Verdicts       Verdicts // given by the plugin's hook, by kind (Host.Hook)
}

// latencyBounds are the upper bounds of Latency.Buckets (the last bucket
// has none).
var latencyBounds = batch.Decades

const numBuckets = batch.Buckets // the batches count in the same buckets

// Latency of the calls, measured around the loader's call (it includes the
// wait for the plugin's lock when calls are serialized).
type Latency struct {
	Total time.Duration
	Max   time.Duration
	// Buckets counts calls by decade: shorter than 1us, 10us, 100us, 1ms,
	// 10ms, 100ms, 1s, and the rest (the upper bounds are exclusive).
	Buckets [numBuckets]uint64
}

// codes lists every code a call can count, in a fixed order: counting
// indexes a fixed array instead of a map, so it never allocates.
var codes = [...]clawerr.Code{
	clawerr.CallbackError, clawerr.UnknownCode, clawerr.InvalidArgument, clawerr.Crashed,
	clawerr.Timeout, clawerr.Unavailable, clawerr.Closed,
	"", // anything else
}

func codeIndex(c clawerr.Code) int {
	switch c {
	case clawerr.CallbackError:
		return 0
	case clawerr.UnknownCode:
		return 1
	case clawerr.InvalidArgument:
		return 2
	case clawerr.Crashed:
		return 3
	case clawerr.Timeout:
		return 4
	case clawerr.Unavailable:
		return 5
	case clawerr.Closed:
		return 6
	}
	return len(codes) - 1
}

// counters are updated by every call: atomics only, no allocation. The
// number of calls is the sum of the buckets, one atomic add fewer per call.
type counters struct {
	// A quick call that succeeds touches total, max and buckets[0] only:
	// they come first, together.
	total    atomic.Int64
	max      atomic.Int64
	buckets  [numBuckets]atomic.Uint64
	errs     [len(codes)]atomic.Uint64
	verdicts verdictCounters // hook dispatch only (verdict.go)
}

func (c *counters) record(err error, d time.Duration) {
	if err != nil {
		c.errs[codeIndex(codeOf(err))].Add(1)
	}
	ns := int64(d)
	c.total.Add(ns)
	for {
		m := c.max.Load()
		if ns <= m || c.max.CompareAndSwap(m, ns) {
			break
		}
	}
	b := 0
	for b < len(latencyBounds) && d >= latencyBounds[b] {
		b++
	}
	c.buckets[b].Add(1)
}

// codeOf is clawerr.CodeOf without errors.As (which allocates) for the
// loader's errors, which are always a bare *clawerr.Error.
func codeOf(err error) clawerr.Code {
	switch e := err.(type) {
	case *clawerr.Error:
		return e.Code
	case clawerr.Code:
		return e
	}
	return clawerr.CodeOf(err) // wrapped: errors.As may allocate; the loader never wraps
}

// fold adds what batches measured of an instance's calls (batch.Measured)
// to the counters: when the instance is retired, its cell is read once
// more and no longer.
func (c *counters) fold(l batch.Latency) {
	c.total.Add(int64(l.Total))
	for {
		m := c.max.Load()
		if int64(l.Max) <= m || c.max.CompareAndSwap(m, int64(l.Max)) {
			break
		}
	}
	for i, n := range l.Buckets {
		if n != 0 {
			c.buckets[i].Add(n)
		}
	}
}

// addMeasured adds what batches measured of an instance's calls to s.
func (s *Stats) addMeasured(l batch.Latency) {
	s.Latency.Total += l.Total
	s.Latency.Max = max(s.Latency.Max, l.Max)
	for i, n := range l.Buckets {
		s.Latency.Buckets[i] += n
		s.Calls += n
	}
}

func (c *counters) snapshot() Stats {
	s := Stats{Verdicts: c.verdicts.snapshot()}
	for i := range c.errs {
		if n := c.errs[i].Load(); n != 0 {
			if s.Errors == nil {
				s.Errors = make(map[clawerr.Code]uint64)
			}
			s.Errors[codes[i]] = n
		}
	}
	s.Latency.Total = time.Duration(c.total.Load())
	s.Latency.Max = time.Duration(c.max.Load())
	for i := range c.buckets {
		s.Latency.Buckets[i] = c.buckets[i].Load()
		s.Calls += s.Latency.Buckets[i]
	}
	return s
}
