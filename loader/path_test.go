package loader_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/loader"
)

// A path is a path: a bare file name is the file in the working directory,
// not a search of the dynamic loader's library path; a missing file is
// open_failed and matches fs.ErrNotExist.
func TestOpenRelativePath(t *testing.T) {
	lib, err := os.ReadFile(cbuild.Plugin(t, "echo"))
	require.NoError(t, err)
	dir := t.TempDir()
	name := "libechorel" + cbuild.LibExt
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), lib, 0o755))
	t.Chdir(dir)

	p, err := loader.Open(name)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, name), loader.PathOf(p))
	require.NoError(t, p.Close())

	p, err = loader.Open("libnothere" + cbuild.LibExt)
	assert.Nil(t, p)
	require.Error(t, err)
	assert.Equal(t, clawerr.OpenFailed, clawerr.CodeOf(err))
	assert.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "libnothere"+cbuild.LibExt))
}
