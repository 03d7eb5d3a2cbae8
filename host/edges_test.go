package host_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
)

// Add of a directory that does not exist, or that holds no manifest, says
// so and adds nothing.
func TestAddRefusesWhatIsNoPluginDirectory(t *testing.T) {
	h, err := host.New()
	require.NoError(t, err)
	defer h.Close()

	missing := filepath.Join(t.TempDir(), "nonexistent")
	err = h.Add(missing)
	require.Error(t, err)
	assert.Equal(t, clawerr.ManifestInvalid, clawerr.CodeOf(err))
	assert.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
	assert.Contains(t, err.Error(), missing)

	empty := t.TempDir()
	err = h.Add(empty)
	require.Error(t, err)
	assert.Equal(t, clawerr.ManifestInvalid, clawerr.CodeOf(err))
	assert.Contains(t, err.Error(), "no plugin.toml or clawd-plugin.json")
	assert.Empty(t, h.Plugins())
}

// Options given nonsense make New fail, naming the option and the value.
func TestNewRefusesNonsenseOptions(t *testing.T) {
	for _, c := range []struct {
		opt  host.Option
		want string
	}{
		{host.WithDebounce(-1), "WithDebounce(-1ns): the debounce must not be negative"},
		{host.WithParallelThreshold(-5), "WithParallelThreshold(-5ns): the threshold must not be negative"},
	} {
		h, err := host.New(c.opt)
		assert.Nil(t, h)
		require.Error(t, err)
		assert.Equal(t, clawerr.InvalidArgument, clawerr.CodeOf(err))
		assert.Contains(t, err.Error(), c.want)
	}
	h, err := host.New(host.WithDebounce(0), host.WithParallelThreshold(0))
	require.NoError(t, err, "0 is the default debounce, and fans out every plugin")
	require.NoError(t, h.Close())
}
