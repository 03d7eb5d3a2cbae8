package loader_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/reentry"
	"github.com/clawd-go/clawd/loader"
)

// Two plugins whose sinks call into each other at the same moment: each
// call holds its own plugin and waits for the other's. The later wait is
// refused with unavailable (ErrDeadlock), the other call goes on, nothing
// hangs.
func TestSinksCallingIntoEachOther(t *testing.T) {
	libs := map[string]string{
		"alpha": cbuild.Plugin(t, "echo", `-DECHO_NAME="alpha"`),
		"beta":  cbuild.Plugin(t, "echo", `-DECHO_NAME="beta"`),
	}
	ps := map[string]clawd.Plugin{}
	inside := make(chan string, 2)
	release := make(chan struct{})
	nested := make(chan error, 2)
	sink := func(other string) clawd.Sink {
		return clawd.SinkFunc(func(ctx context.Context, e clawd.Event) error {
			if e.Method != "echo.on_tool_call" {
				return nil
			}
			inside <- e.Plugin
			<-release // both sinks are running now, each holding its plugin
			nested <- message(ps[other], ctx, "s1", "user", `"cross"`)
			return nil
		})
	}
	for name, other := range map[string]string{"alpha": "beta", "beta": "alpha"} {
		p, err := loader.Open(libs[name], clawd.WithEventSink(sink(other)), clawd.WithCapabilities(abi.CapNetworkRelay))
		require.NoError(t, err)
		ps[name] = p
		t.Cleanup(func() { assert.NoError(t, p.Close()) })
	}
	calls := make(chan error, 2)
	for _, name := range []string{"alpha", "beta"} {
		go func() { calls <- toolCall(ps[name], context.Background(), "s1", "cross", "{}") }()
	}
	// No deadline of its own: sinks that never start, or wait for each
	// other for good, fail the test at the test binary's -timeout.
	for range 2 {
		<-inside
	}
	close(release)
	var refused, passed int
	for range 2 {
		switch err := <-nested; {
		case err == nil:
			passed++
		case clawerr.CodeOf(err) == clawerr.Unavailable && errors.Is(err, reentry.ErrDeadlock):
			refused++
			assert.ErrorContains(t, err, "waits for")
		default:
			t.Errorf("nested call: %v", err)
		}
	}
	assert.Equal(t, 1, refused, "the wait that closes the cycle is refused")
	assert.Equal(t, 1, passed, "the other goes on once the refused one unwinds")
	for range 2 {
		require.NoError(t, <-calls)
	}
}
