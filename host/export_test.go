package host

// BatchedCalls is how many calls h made through loader batches.
func BatchedCalls(h *Host) uint64 { return h.batched.Load() }

// The default of WithParallelThreshold, for the benchmarks.
const DefaultParallelThreshold = defaultParallelThreshold

// CacheDirOf is the directory the verified copies are written to.
func CacheDirOf(h *Host) string { return h.cacheDir }
