package isolate_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
)

// The serving child's own pages are counted while it serves; with no
// child, Memory does not know.
func TestMemoryOfTheChild(t *testing.T) {
	r := open(t, cbuild.Plugin(t, "hostile"))
	n, ok := r.p.Memory()
	require.True(t, ok, "smaps_rollup of the child")
	require.Positive(t, n)
	require.Less(t, n, uint64(1<<30))
	require.NoError(t, r.p.Close())
	_, ok = r.p.Memory()
	require.False(t, ok, "no child serves after Close")
}
