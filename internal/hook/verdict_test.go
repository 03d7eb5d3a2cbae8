package hook_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/hook"
)

// A payload that gives a key twice within one object, at any depth, is
// invalid: json.Unmarshal keeps the last, a reader after the host may keep
// the first, and the verdict (an intercepted input) would mean two things.
func TestTakeRefusesDuplicateKeys(t *testing.T) {
	for _, c := range []struct {
		op     clawd.Op
		method string
		params string
	}{
		{clawd.OpToolCall, hook.MethodBlock, `{"reason":"a","reason":"b"}`},
		{clawd.OpToolCall, hook.MethodIntercept, `{"input":{"path":"a"},"input":{"path":"b"}}`},
		{clawd.OpToolCall, hook.MethodIntercept, `{"input":{"path":"/safe","path":"/etc/shadow"}}`},
		{clawd.OpMessage, hook.MethodIntercept, `{"content":[{"text":"a"},{"t":1,"t":2}]}`},
		{clawd.OpToolCall, hook.MethodIntercept, `{"input":{"p\u0061th":"a","path":"b"}}`},
	} {
		f := hook.NewFrame(c.op, true, 0)
		code, invalid, err := f.Take(c.method, []byte(c.params), 0)
		require.Equal(t, abi.DaemonError, code, c.params)
		require.True(t, invalid, c.params)
		require.ErrorContains(t, err, "repeats the key", c.params)
		require.Equal(t, clawd.Verdict{}, f.Verdict(), c.params)
	}
	// The same key in sibling objects is no repeat.
	f := hook.NewFrame(clawd.OpToolCall, true, 0)
	code, _, err := f.Take(hook.MethodIntercept, []byte(`{"input":{"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]}}`), 0)
	require.NoError(t, err)
	require.Equal(t, abi.None, code)
}

// While the calling thread is away in a sink of the call's own event, a
// call nested below runs there: a verdict on the outer call's context is
// not the call in flight's, and is refused until the sink returned.
func TestVerdictRefusedWhileAway(t *testing.T) {
	f := hook.NewFrame(clawd.OpToolCall, true, 7)
	f.Away()
	code, invalid, err := f.Take(hook.MethodBlock, []byte(`{"reason":"nested"}`), 7)
	require.Equal(t, abi.NotFound, code)
	require.False(t, invalid)
	require.NoError(t, err)
	f.Back()
	code, _, _ = f.Take(hook.MethodBlock, []byte(`{"reason":"own"}`), 7)
	require.Equal(t, abi.None, code)
	require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "own"}, f.Verdict())

	var none *hook.Frame
	none.Away() // a call without a frame: nothing to mark
	none.Back()
}
