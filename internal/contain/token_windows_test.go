package contain

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The token made for the child, read back before any child runs with it.
func TestSandboxTokenReadsBack(t *testing.T) {
	own, err := readToken()
	require.NoError(t, err)
	t.Logf("the host's token: %+v (%s)", own, integrityName(own.integrity))
	for _, low := range []bool{false, true} {
		tok, err := sandboxToken(low)
		require.NoError(t, err)
		f, err := factsOf(tok)
		tok.Close()
		require.NoError(t, err)
		t.Logf("low %t: %+v (%s)", low, f, integrityName(f.integrity))
		assert.Zero(t, f.privileges, "privileges besides SeChangeNotifyPrivilege")
		assert.False(t, f.admin, "Administrators enabled")
		if low {
			assert.Equal(t, "low", integrityName(f.integrity))
		} else {
			assert.Equal(t, own.integrity, f.integrity)
		}
	}
}
