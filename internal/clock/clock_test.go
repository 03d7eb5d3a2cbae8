package clock_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/clawd-go/clawd/internal/clock"
)

// The clock never goes back, and it resolves a short busy wait: Go's own
// clock on Windows (steps of 0.5-15.6 ms) measures most such spans as 0.
func TestMonoResolvesMicroseconds(t *testing.T) {
	prev := clock.Mono()
	zero := 0
	for range 100 {
		start := clock.Mono()
		assert.GreaterOrEqual(t, start, prev, "the clock went back")
		for clock.Mono()-start < 20*time.Microsecond {
		}
		d := clock.Mono() - start
		if d == 0 {
			zero++
		}
		assert.Less(t, d, time.Second)
		prev = start
	}
	assert.Zero(t, zero)
}
