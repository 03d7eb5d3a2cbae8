package host

// BatchedCalls is how many calls h made through loader batches.
func BatchedCalls(h *Host) uint64 { return h.batched.Load() }
