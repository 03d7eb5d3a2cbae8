package vtable

import "github.com/clawd-go/clawd/internal/batch"

// culprit names which of three staged strings holds the NUL found at
// offset i: 0, 1 or 2.
func culprit(i, n0, n1 int) int {
	switch {
	case i < n0:
		return 0
	case i < n0+1+n1:
		return 1
	}
	return 2
}

// BatchEntry is one callback of a Batch, laid out as the C shim's
// clawd_batch_entry (internal/batch's Entry): it lives in C memory,
// written by the caller (Fn, Cell) and by the shim (Code, NS).
type BatchEntry = batch.Entry

// wakeBit, in a shim's result, says that a Go caller waits for the lock
// the shim gave back (clawctx.SerialLock.Wake).
const wakeBit = batch.WakeBit

// SerialResult is what Serial did, in one word: the callback's ClawaError,
// or why it made no call.
type SerialResult int64

const (
	serialBusy = -1  // the lock is taken: nothing was done
	serialHeld = -2  // the caller holds the lock now and makes the call itself
	serialNUL  = -16 // -16-i: string i holds a NUL; the caller holds the lock
)

// Busy reports that the plugin's lock was taken: nothing was done.
func (r SerialResult) Busy() bool { return r == serialBusy }

// Held reports that no call was made and the caller holds the lock: the
// plugin is closed, or the call needs the Go side (no argument buffer, or
// too small; a chunk of the ring to make; a NUL, then NUL is its index).
func (r SerialResult) Held() bool { return r < 0 && r != serialBusy }

// NUL is the index of the string that holds a NUL, -1 if none does.
func (r SerialResult) NUL() int {
	if r <= serialNUL {
		return int(serialNUL - r)
	}
	return -1
}

// Code is the callback's ClawaError (the result is not negative).
func (r SerialResult) Code() int32 { return int32(uint32(r)) }

// Wake reports that a Go caller waits for the lock the call gave back.
func (r SerialResult) Wake() bool { return r >= 0 && int64(r)&wakeBit != 0 }
