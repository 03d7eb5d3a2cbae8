package host

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/clawd-go/clawd/clawerr"
)

// Counting a call never allocates, failing or not.
func TestRecordDoesNotAllocate(t *testing.T) {
	var c counters
	errCb := clawerr.New(clawerr.CallbackError, "p", "on_tool_call", "", nil)
	bare := clawerr.Timeout
	n := testing.AllocsPerRun(1000, func() {
		c.record(nil, 3*time.Microsecond)
		c.record(errCb, 2*time.Second)
		c.record(bare, 50*time.Millisecond)
	})
	if n != 0 {
		t.Fatalf("record allocates %v times per run", n)
	}
	s := c.snapshot()
	if s.Calls != 3003 || s.Errors[clawerr.CallbackError] != 1001 || s.Errors[clawerr.Timeout] != 1001 {
		t.Fatalf("counts: %+v", s)
	}
	if s.Latency.Max != 2*time.Second || s.Latency.Buckets[1] != 1001 || s.Latency.Buckets[5] != 1001 || s.Latency.Buckets[7] != 1001 {
		t.Fatalf("latency: %+v", s.Latency)
	}
}

// Every call-time code has its own slot.
func TestCodeIndexIsOneToOne(t *testing.T) {
	seen := map[int]bool{}
	for i, c := range codes {
		if got := codeIndex(c); got != i {
			t.Errorf("codeIndex(%q) = %d, want %d", c, got, i)
		}
		seen[codeIndex(c)] = true
	}
	if codeIndex(clawerr.ABIMismatch) != len(codes)-1 {
		t.Error("a load-time code is not counted as other")
	}
}

// An error that is neither, or wraps one, still counts under its code.
func TestCodeOfWrapped(t *testing.T) {
	if got := codeOf(fmt.Errorf("x: %w", clawerr.New(clawerr.Closed, "", "", "", nil))); got != clawerr.Closed {
		t.Fatalf("got %q", got)
	}
	if got := codeOf(errors.New("plain")); got != "" {
		t.Fatalf("got %q", got)
	}
}
