package hook_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/hook"
)

func TestReserved(t *testing.T) {
	require.True(t, hook.Reserved("hook.block"))
	require.True(t, hook.Reserved([]byte("hook.anything")))
	require.False(t, hook.Reserved("hook"))
	require.False(t, hook.Reserved("hooks.block"))
	require.False(t, hook.Reserved(""))
}

func TestTake(t *testing.T) {
	f := hook.NewFrame(clawd.OpToolCall, true, 7)
	code, invalid, err := f.Take(hook.MethodIntercept, []byte(` {"input": { "a" : 1 }, "note": "kept out"}`), 7)
	require.Equal(t, abi.None, code)
	require.False(t, invalid)
	require.NoError(t, err)
	require.Equal(t, clawd.Verdict{Kind: clawd.Intercept, Input: `{"a":1}`}, f.Verdict())

	// The last verdict taken counts.
	code, _, _ = f.Take(hook.MethodBlock, []byte(`{"reason":"no"}`), 7)
	require.Equal(t, abi.None, code)
	require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "no"}, f.Verdict())

	m := hook.NewFrame(clawd.OpMessage, true, 0)
	code, _, _ = m.Take(hook.MethodIntercept, []byte(`{"content":"redacted"}`), 0)
	require.Equal(t, abi.None, code)
	require.Equal(t, clawd.Verdict{Kind: clawd.Intercept, Content: `"redacted"`}, m.Verdict())
}

func TestTakeRefuses(t *testing.T) {
	var none *hook.Frame
	code, invalid, _ := none.Take(hook.MethodBlock, []byte(`{"reason":"x"}`), 0)
	require.Equal(t, abi.NotFound, code, "no Hook call")
	require.False(t, invalid)

	notGranted := hook.NewFrame(clawd.OpToolCall, false, 1)
	code, _, _ = notGranted.Take(hook.MethodBlock, []byte(`{"reason":"x"}`), 1)
	require.Equal(t, abi.NotFound, code)

	f := hook.NewFrame(clawd.OpToolCall, true, 1)
	code, _, _ = f.Take(hook.MethodBlock, []byte(`{"reason":"x"}`), 2)
	require.Equal(t, abi.NotFound, code, "another thread")
	code, _, _ = f.Take("hook.allow", []byte(`{}`), 1)
	require.Equal(t, abi.NotFound, code, "an unknown hook method")

	m := hook.NewFrame(clawd.OpMessage, true, 1)
	for _, c := range []struct {
		f       *hook.Frame
		method  string
		params  string
		because string
	}{
		{f, hook.MethodBlock, `{}`, `params_json has no "reason"`},
		{f, hook.MethodBlock, `{"reason":5}`, `"reason" is not a string`},
		{f, hook.MethodBlock, `{"reason":"` + strings.Repeat("x", hook.MaxReason+1) + `"}`, `"reason" is 4097 bytes, more than 4096`},
		{f, hook.MethodBlock, `["reason"]`, "params_json is not a JSON object"},
		{f, hook.MethodIntercept, `{"input":[1]}`, `"input" is not a JSON object`},
		{f, hook.MethodIntercept, `{"content":"x"}`, `params_json has no "input"`},
		{f, hook.MethodIntercept, `{"input":{}` + strings.Repeat(" ", hook.MaxPayload) + `}`, "params_json is 1048588 bytes, more than 1048576"},
		{m, hook.MethodIntercept, `{"content":null}`, `"content" is null`},
		{m, hook.MethodIntercept, `{"input":{}}`, `params_json has no "content"`},
	} {
		code, invalid, err := c.f.Take(c.method, []byte(c.params), 1)
		require.Equal(t, abi.DaemonError, code, c.because)
		require.True(t, invalid, c.because)
		require.EqualError(t, err, c.because)
	}
	require.Equal(t, clawd.Verdict{}, f.Verdict(), "a refused verdict leaves none")
	require.Equal(t, clawd.Verdict{}, m.Verdict())
}
