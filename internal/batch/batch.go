// Package batch is an optional capability of a runtime: running one call
// on several of its plugins in one crossing (the native runtime's, in
// cgo builds). The runtime registers it; the host finds it here, never
// in the runtime's package, and calls a plugin the ordinary way whenever
// a batch does not admit it or does not make its call.
package batch

import (
	"context"
	"time"

	"github.com/clawd-go/clawd"
)

// Max is how many plugins one Batch runs.
const Max = 64

// Buckets is how many latency buckets a batch counts calls in: Bounds
// gives the upper bounds of all but the last.
const Buckets = 8

// Bounds are the upper bounds (exclusive) of the latency buckets but the
// last, which has none.
type Bounds [Buckets - 1]time.Duration

// Batch runs one call on several plugins. Admit takes p for the call
// (false with a nil error: make the call the ordinary way, p.Call; a
// non-nil error is the call's outcome, refused before it began); every
// call admitted into one batch is the same call (read in place: *c must
// not change until Reset), with the same ctx, checked at the first. Drop
// takes back the call admitted last. Run(from) makes the admitted calls
// from that index on, in order, and returns where it stopped: Len(), or
// the index of a call it did not make (its plugin busy with another call,
// closed meanwhile, or needing the runtime's Go side): the caller makes
// that one the ordinary way and runs on from the next. Result(i) is then
// the i-th call's time in its callback and its outcome, for each i Run
// went past; measured tells that the call was made and counted in its
// plugin's Latency (Measured), so that the caller must not count it; a
// call refused (its strings hold a NUL) is not. Reset empties the batch. For one goroutine at a time.
type Batch interface {
	Len() int
	Admit(ctx context.Context, p clawd.Plugin, c *clawd.Call) (admitted bool, err error)
	Drop()
	Run(from int) (stop int)
	Result(i int) (d time.Duration, err error, measured bool)
	Reset()
}

// Latency is what batches measured of one plugin's calls: their sum, the
// longest, and how many fell in each bucket (the bounds its batches were
// made with).
type Latency struct {
	Total   time.Duration
	Max     time.Duration
	Buckets [Buckets]uint64
}

var (
	newBatch func(Bounds) (Batch, error)
	accepts  func(clawd.Plugin) bool
	latency  func(clawd.Plugin) Latency
)

// Register makes New return the runtime's batches, Accepts say which
// plugins they may admit (the runtime's own) and Measured read what they
// measured of one. Called from a runtime's init; the last registration
// wins (one runtime batches).
func Register(batches func(Bounds) (Batch, error), admits func(clawd.Plugin) bool, measured func(clawd.Plugin) Latency) {
	newBatch, accepts, latency = batches, admits, measured
}

// Available reports whether a runtime of this program batches.
func Available() bool { return newBatch != nil }

// Accepts reports whether a batch may admit p at all (asked once per
// opened plugin, so that a dispatch skips the others at the cost of a
// flag).
func Accepts(p clawd.Plugin) bool { return accepts != nil && accepts(p) }

// Measured is what batches measured of p's calls so far (zero for a plugin
// no batch accepts). Batches of one process share it: the bounds must be
// the same for all.
func Measured(p clawd.Plugin) Latency {
	if latency == nil || !Accepts(p) {
		return Latency{}
	}
	return latency(p)
}

// New returns an empty batch that counts calls in buckets with bounds;
// nil and a nil error when no runtime batches.
func New(bounds Bounds) (Batch, error) {
	if newBatch == nil {
		return nil, nil
	}
	return newBatch(bounds)
}
