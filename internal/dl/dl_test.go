package dl_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/dl"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

func TestOpenSymClose(t *testing.T) {
	lib, err := dl.Open(cbuild.Plugin(t, "minimal"))
	require.NoError(t, err)
	require.NotZero(t, lib)

	init, err := dl.Sym(lib, abi.InitSymbol)
	require.NoError(t, err)
	assert.NotZero(t, init)

	_, err = dl.Sym(lib, "clawd_no_such_symbol")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "clawd_no_such_symbol", "the error names the symbol")

	require.NoError(t, dl.Close(lib))
}

// A library without clawd_plugin_init opens, and the missing symbol is an
// error naming it.
func TestMissingInit(t *testing.T) {
	lib, err := dl.Open(cbuild.Plugin(t, "missing_init"))
	require.NoError(t, err)
	defer dl.Close(lib)
	addr, err := dl.Sym(lib, abi.InitSymbol)
	require.Error(t, err)
	assert.Zero(t, addr)
	assert.Contains(t, err.Error(), abi.InitSymbol)
}

func TestOpenErrorsNameThePath(t *testing.T) {
	dir := t.TempDir()
	notALib := filepath.Join(dir, "libnot"+cbuild.LibExt)
	require.NoError(t, os.WriteFile(notALib, []byte("not a shared library"), 0o644))
	for _, path := range []string{filepath.Join(dir, "nope"+cbuild.LibExt), notALib} {
		lib, err := dl.Open(path)
		require.Error(t, err, path)
		assert.Zero(t, lib)
		assert.Contains(t, err.Error(), path)
	}
	_, err := dl.Open("")
	assert.EqualError(t, err, "dl: empty library path")
}
