package clock_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/clawd-go/clawd/internal/clock"
)

// The clock never goes back, and it resolves a short busy wait: Go's own
// clock on Windows (steps of 0.5-15.6 ms) measures most such spans as 0.
func TestMonoResolvesMicroseconds(t *testing.T) {
	outer := time.Now()
	first := clock.Mono()
	prev := first
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
		prev = start
	}
	span := clock.Mono() - first
	// The clock does not run fast or jump ahead: what it measured lies
	// inside what Go's own clock measured around it, give or take one
	// step of Go's clock on Windows (15.6 ms at most). However long the
	// machine kept this goroutine waiting, both clocks saw the same wait.
	step := time.Duration(0)
	if runtime.GOOS == "windows" {
		step = 16 * time.Millisecond
	}
	assert.LessOrEqual(t, span, time.Since(outer)+step)
	assert.Zero(t, zero)
}
