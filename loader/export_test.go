package loader

import "github.com/clawd-go/clawd"

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

// What the tests read of the plugin Open returns, which is unexported.
type UnloadState = unloadState

const (
	NotClosed   = notClosed
	Unmapped    = unmapped
	StillMapped = stillMapped
	KeptMapped  = keptMapped
)

func UnloadStateOf(p clawd.Plugin) UnloadState { return p.(*plugin).UnloadState() }
func PathOf(p clawd.Plugin) string             { return p.(*plugin).Path() }
