//go:build darwin || freebsd || linux

package dl_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/dl"
)

// Default reaches libc, which the program is linked with, but not a
// symbol no library defines.
func TestDefault(t *testing.T) {
	addr, err := dl.Sym(dl.Default, "fflush")
	require.NoError(t, err)
	assert.NotZero(t, addr)
	_, err = dl.Sym(dl.Default, "clawd_no_such_symbol")
	assert.ErrorContains(t, err, "clawd_no_such_symbol")
}
