package outcome

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
)

func TestResult(t *testing.T) {
	e := NewErrors("p")
	assert.NoError(t, e.Result(clawd.OpToolCall, 0))
	err := e.Result(clawd.OpToolCall, int32(abi.NotFound))
	assert.Equal(t, clawerr.CallbackError, clawerr.CodeOf(err))
	assert.ErrorIs(t, err, abi.NotFound)
	assert.Contains(t, err.Error(), "on_tool_call")
	assert.Same(t, err, e.Result(clawd.OpToolCall, int32(abi.NotFound)), "made once")
	assert.Equal(t, 0.0, testing.AllocsPerRun(100, func() { _ = e.Result(clawd.OpMessage, int32(abi.DaemonError)) }))

	for _, rc := range []int32{6, -1, 1 << 30} {
		err := e.Result(clawd.OpSessionStart, rc)
		assert.Equal(t, clawerr.UnknownCode, clawerr.CodeOf(err))
		var u *abi.UnknownCodeError
		if assert.ErrorAs(t, err, &u) {
			assert.Equal(t, rc, u.Code)
		}
	}
}

func TestRefusals(t *testing.T) {
	e := NewErrors("p")
	assert.Equal(t, clawerr.Timeout, clawerr.CodeOf(e.NotCalled(clawd.OpToolCall, context.DeadlineExceeded)))
	assert.Equal(t, clawerr.Unavailable, clawerr.CodeOf(e.NotCalled(clawd.OpToolCall, context.Canceled)))
	nul := e.NUL(clawd.OpMessage, 1)
	assert.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(nul))
	assert.ErrorIs(t, nul, ErrInteriorNUL)
	assert.Contains(t, nul.Error(), "role")
	assert.Equal(t, clawerr.Closed, clawerr.CodeOf(e.Closed("close")))
	assert.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(e.BadOp(9)))
}

func TestSinkCode(t *testing.T) {
	for _, c := range []struct {
		err  error
		want abi.Code
	}{
		{nil, abi.None},
		{abi.NotFound, abi.NotFound},
		{fmt.Errorf("wrapped: %w", abi.CapabilityDenied), abi.CapabilityDenied},
		{abi.Code(42), abi.DaemonError}, // a plugin only ever sees the codes ABI v1 defines
		{abi.None, abi.DaemonError},     // an error that says "none" is still an error
		{errors.New("disk full"), abi.DaemonError},
	} {
		assert.Equal(t, c.want, SinkCode(c.err), "%v", c.err)
	}
}

func TestDeliver(t *testing.T) {
	var got any
	code := Deliver(context.Background(), clawd.SinkFunc(func(context.Context, clawd.Event) error { panic("bug") }),
		clawd.Event{}, func(r any) { got = r })
	assert.Equal(t, abi.DaemonError, code)
	assert.Equal(t, "bug", got)
	assert.Equal(t, abi.DaemonError, Deliver(context.Background(), nil, clawd.Event{}, nil))
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, 1)
	assert.Equal(t, abi.NotFound, Deliver(ctx, clawd.SinkFunc(func(c context.Context, e clawd.Event) error {
		assert.Equal(t, 1, c.Value(key{}))
		return abi.NotFound
	}), clawd.Event{}, nil))
}
