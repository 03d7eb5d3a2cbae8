package contain

import "time"

// The default resource limits of a sandboxed plugin, besides
// DefaultMaxProcesses: room for the Go runtime (which alone reserves about
// 1.5 GiB of address space), the plugin and its threads; a plugin that
// spins for an hour of CPU is restarted.
const (
	DefaultAddressSpace = 4 << 30
	DefaultCPUTime      = time.Hour
)
