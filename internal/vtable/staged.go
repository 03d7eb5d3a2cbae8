package vtable

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
// clawd_batch_entry: it lives in C memory, written by the caller (Fn, Ctx,
// Live, Stale) and by the shim (Code, NS).
type BatchEntry struct {
	Fn, Ctx     uintptr
	Live, Stale uintptr // the context's _inner during the callback, and after
	Code        int64   // the ClawaError, as an unsigned 32-bit value
	NS          int64   // the callback's duration
}
