package clawd

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
)

// withRegistry runs f with the runtime registry replaced by m: a program
// that imports no runtime package, as a newcomer's first one does.
func withRegistry(t *testing.T, m map[string]Runtime, f func()) {
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
	withRegistry(t, map[string]Runtime{"mine": RuntimeFunc(func(string, ...Option) (Plugin, error) { return nil, nil })}, func() {
		_, err := Open("natve", "plugin.so")
		assert.ErrorIs(t, err, clawerr.RuntimeUnsupported)
		assert.ErrorContains(t, err, `no runtime "natve"`)
		assert.ErrorContains(t, err, "registered here: mine")
		assert.ErrorContains(t, err, "native, process, wasm")
	})
}
