package loader

// SetUnmapAlways makes Close unmap the library whatever the thread census
// says: the behaviour without the census, for the test that shows what it
// prevents.
func SetUnmapAlways(v bool) { unmapAlways = v }

// The native runtime's batch, for its tests (the host finds it through
// internal/batch).
type Batch = nativeBatch

func NewBatch() (*Batch, error) { return newNativeBatch() }

const (
	Batching = batching
	MaxBatch = maxBatch
)
