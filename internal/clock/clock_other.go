//go:build !windows

package clock

import "time"

var origin = time.Now()

// One read of Go's monotonic clock.
func mono() time.Duration { return time.Since(origin) }
