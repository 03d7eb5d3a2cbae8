// Package batch is an optional capability of a runtime: running one call
// on several of its plugins in one crossing (the native runtime's, in
// cgo builds). The runtime registers it; the host finds it here, never
// in the runtime's package, and calls a plugin the ordinary way whenever
// a batch does not take it or does not make its call.
//
// The host fills a batch itself, from a Ticket per plugin made once, so
// that a plugin costs a dispatch two words written, and reads each
// outcome back from the same entry: no call into the runtime per plugin.
package batch

import (
	"context"
	"time"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/outcome"
)

// Max is how many plugins one Batch runs.
const Max = 64

// Buckets is how many latency buckets a batch counts calls in: Bounds
// gives the upper bounds of all but the last.
const Buckets = 8

// Bounds are the upper bounds (exclusive) of the latency buckets but the
// last, which has none.
type Bounds [Buckets - 1]time.Duration

// Decades are the bounds package host counts latency in, batched or not:
// 1us, 10us, 100us, 1ms, 10ms, 100ms, 1s (the clawd-plugin command's
// metrics label its buckets with them).
var Decades = Bounds{
	time.Microsecond, 10 * time.Microsecond, 100 * time.Microsecond,
	time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, time.Second,
}

// Entry is one call of a batch, in the runtime's C memory: the caller
// writes Fn and Cell (from the plugin's Ticket); Run writes Code and NS.
type Entry struct {
	Fn, Cell uintptr
	Code     int64 // the ClawaError as an unsigned 32-bit value, | WakeBit
	NS       int64 // the callback's duration
}

// WakeBit in an Entry's Code: a caller waits for the plugin's lock, which
// the run gave back; Ticket.Wake wakes it.
const WakeBit = int64(1) << 32

// Ticket is what a batch needs of one plugin, made once per plugin.
type Ticket struct {
	Fns  [clawd.NumOps]uintptr // the callback of each op, 0 if none
	Cell uintptr               // the plugin's state in C (lock, ring, counters)
	Errs *outcome.Errors       // its callback_error values
	// GoOn is called where a run stopped on this plugin holding its lock
	// (Run's held): it does what the run needs of the runtime's Go side
	// (a chunk of contexts) and gives the lock back. false: the plugin is
	// closed, or that failed: make the call the ordinary way.
	GoOn func() bool
	Wake func() // wakes a caller waiting for the plugin's lock
}

// Batch runs one call on several plugins. Begin stages the call (read in
// place until Reset) after the checks every call gets (ctx, Call.Validate,
// no NUL in its strings); false: make every call of it the ordinary way,
// which refuses what it must. Entries are the batch's Max entries: the
// caller fills the first n. Run(from, n) makes the calls of entries from
// to n-1 in order and returns where it stopped: n, or the index of a call
// it did not make (its plugin busy with another call, or needing the Go
// side: held, then Ticket.GoOn). Each call made is counted in its plugin's
// Latency (Measured), not by the caller. For one goroutine at a time.
type Batch interface {
	Begin(ctx context.Context, c *clawd.Call) bool
	Entries() []Entry
	Run(from, n int) (stop int, held bool)
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
	ticket   func(clawd.Plugin) *Ticket
	latency  func(clawd.Plugin) Latency
)

// Register makes New return the runtime's batches, TicketOf its plugins'
// tickets and Measured read what batches measured of one. Called from a
// runtime's init; the last registration wins (one runtime batches).
func Register(batches func(Bounds) (Batch, error), tickets func(clawd.Plugin) *Ticket, measured func(clawd.Plugin) Latency) {
	newBatch, ticket, latency = batches, tickets, measured
}

// Available reports whether a runtime of this program batches.
func Available() bool { return newBatch != nil }

// TicketOf is p's ticket, nil if no batch takes p (another runtime's, or
// one whose calls need the Go side: concurrent, or with a sink). Asked
// once per opened plugin.
func TicketOf(p clawd.Plugin) *Ticket {
	if ticket == nil {
		return nil
	}
	return ticket(p)
}

// Measured is what batches measured of p's calls so far (zero for a plugin
// without a ticket). Batches of one process share it: the bounds must be
// the same for all.
func Measured(p clawd.Plugin) Latency {
	if latency == nil {
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
