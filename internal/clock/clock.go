// Package clock reads a monotonic clock that resolves microseconds on
// every OS, for the durations the host reports (a call's latency in
// Outcome and Stats). Go's own monotonic clock does on Linux, macOS and
// FreeBSD; on Windows it follows the system's interrupt time, which moves
// in steps of 0.5 to 15.6 ms, so that most calls would measure 0. There
// the clock is QueryPerformanceCounter.
package clock

import "time"

// Mono is the time since an arbitrary moment fixed for the life of the
// process: only differences of two readings mean anything.
func Mono() time.Duration { return mono() }
