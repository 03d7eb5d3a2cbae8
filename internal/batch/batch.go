// Package batch is an optional capability of a runtime: running one call
// on several of its plugins in one crossing (the native runtime's, in
// cgo builds). The runtime registers it; the host finds it here, never
// in the runtime's package, and calls a plugin the ordinary way whenever
// a batch does not admit it.
package batch

import (
	"context"
	"time"

	"github.com/clawd-go/clawd"
)

// Max is how many plugins one Batch runs.
const Max = 64

// Batch runs one call on several plugins. Admit takes p for the call at
// the next Run (false with a nil error: make the call the ordinary way,
// p.Call; a non-nil error is the call's outcome, refused before it
// began); every call admitted into one run is the same call. Drop takes
// back the call admitted last. Run makes the admitted calls in order and
// empties the batch; Result(i) is then the i-th call's time in its
// callback and its outcome. For one goroutine at a time.
type Batch interface {
	Len() int
	Admit(ctx context.Context, p clawd.Plugin, c clawd.Call) (admitted bool, err error)
	Drop()
	Run()
	Result(i int) (time.Duration, error)
}

var (
	newBatch func() (Batch, error)
	accepts  func(clawd.Plugin) bool
)

// Register makes New return the runtime's batches, and Accepts say which
// plugins they may admit (the runtime's own). Called from a runtime's
// init; the last registration wins (one runtime batches).
func Register(batches func() (Batch, error), admits func(clawd.Plugin) bool) {
	newBatch, accepts = batches, admits
}

// Available reports whether a runtime of this program batches.
func Available() bool { return newBatch != nil }

// Accepts reports whether a batch may admit p at all (asked once per
// opened plugin, so that a dispatch skips the others at the cost of a
// flag).
func Accepts(p clawd.Plugin) bool { return accepts != nil && accepts(p) }

// New returns an empty batch; nil and a nil error when no runtime
// batches.
func New() (Batch, error) {
	if newBatch == nil {
		return nil, nil
	}
	return newBatch()
}
