package clawd

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cabi"
)

// withRegistry runs f with the runtime registry replaced by m: a program
// that imports no runtime package, as a newcomer's first one does.
func withRegistry(t *testing.T, m map[string]openFunc, f func()) {
	registry.Lock()
	saved := registry.m
	registry.m = m
	registry.Unlock()
	defer func() {
		registry.Lock()
		registry.m = saved
		registry.Unlock()
	}()
	f()
}

// Open of one of this module's runtimes in a program that did not import
// its package names the import to add.
func TestOpenNamesTheImportToAdd(t *testing.T) {
	for rt, pkg := range map[string]string{
		RuntimeNative:  "github.com/clawd-go/clawd/loader",
		RuntimeProcess: "github.com/clawd-go/clawd/isolate",
		"wasm":         "github.com/clawd-go/clawd/wasm",
	} {
		withRegistry(t, nil, func() {
			p, err := Open(rt, "plugin.so")
			require.Error(t, err)
			assert.Nil(t, p)
			assert.ErrorIs(t, err, clawerr.RuntimeUnsupported)
			assert.ErrorContains(t, err, `import _ "`+pkg+`"`)
			assert.ErrorContains(t, err, "registered here: none")
		})
	}
	// A name that is no runtime of this module lists the ones that are.
	withRegistry(t, map[string]openFunc{"mine": func(string, ...Option) (Plugin, error) { return nil, nil }}, func() {
		_, err := Open("natve", "plugin.so")
		assert.ErrorIs(t, err, clawerr.RuntimeUnsupported)
		assert.ErrorContains(t, err, `no runtime "natve"`)
		assert.ErrorContains(t, err, "registered here: mine")
		assert.ErrorContains(t, err, "native, process, wasm")
	})
}

// Validate is the one rule: JSON text where the ABI promises it, only
// there; it says where the text goes wrong; a valid call costs no
// allocation.
func TestValidate(t *testing.T) {
	for _, c := range []Call{
		SessionStart("not json"), SessionEnd(""), ToolCall("{", "}", `{"a":[1,2,{"b":null}]}`),
		ToolCall("s", "t", `  {} `), ToolCall("s", "t", `"text"`), ToolCall("s", "t", `0`),
		Message("s", "user", `"héllo"`), Message("s", "user", `null`),
	} {
		assert.NoError(t, c.Validate(), "%v %q", c.Op, c.Args)
	}
	for _, c := range []Call{
		ToolCall("s", "t", ""), ToolCall("s", "t", " "), ToolCall("s", "t", `{`), ToolCall("s", "t", `{}}`),
		ToolCall("s", "t", `{"a":1,}`), ToolCall("s", "t", `NaN`), ToolCall("s", "t", "\"a\x00\""),
		ToolCall("s", "t", "\"tab\there\""), Message("s", "user", `hello`), Message("s", "user", `'x'`),
	} {
		err := c.Validate()
		require.Error(t, err, "%v %q", c.Op, c.Args)
		assert.ErrorIs(t, err, clawerr.InvalidArgument)
		assert.ErrorIs(t, err, ErrNotJSON)
		assert.ErrorContains(t, err, cabi.ArgName(c.Op.Callback(), 2)+" is not JSON text")
	}
	assert.EqualError(t, ToolCall("s", "t", `{"q":x}`).Validate(),
		`clawd: on_tool_call: invalid_argument: input_json is not JSON text, which the ABI promises the plugin: pass a JSON value (such as {} for an empty input_json): invalid character 'x' looking for beginning of value (at byte 6)`)
	ok := ToolCall("sess-0123456789abcdef", "grep_files", `{"pattern":"func (p \\*Plugin)","path":"./loader","max_results":25000,"case":false,"glob":"*.go"}`)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		if ok.Validate() != nil {
			t.Fatal("valid")
		}
	}))
}
