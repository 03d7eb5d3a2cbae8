package contain

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/windows"
)

// The token made for the child, read back before any child runs with it:
// no privilege but SeChangeNotifyPrivilege, Administrators deny-only.
func TestSandboxTokenIsRestricted(t *testing.T) {
	own, err := readToken()
	require.NoError(t, err)
	t.Logf("the host's token: %+v (%s)", own, integrityName(own.integrity))
	for _, low := range []bool{false, true} {
		tok, err := sandboxToken(low)
		require.NoError(t, err)
		f, err := factsOf(tok)
		tok.Close()
		require.NoError(t, err)
		assert.Zero(t, f.privileges, "low %t: privileges besides SeChangeNotifyPrivilege", low)
		assert.False(t, f.admin, "low %t: Administrators enabled", low)
		if !low {
			assert.Equal(t, own.integrity, f.integrity, "the integrity level is left as it is")
		}
	}
}

// The token made for the child is at low integrity.
func TestSandboxTokenIsLowIntegrity(t *testing.T) {
	tok, err := sandboxToken(true)
	require.NoError(t, err)
	defer tok.Close()
	f, err := factsOf(tok)
	require.NoError(t, err)
	assert.Equal(t, "low", integrityName(f.integrity))
}

// labelLow gives a directory the low mandatory label, inherited by what is
// made in it.
func TestLabelLow(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, labelLow(dir))
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.LABEL_SECURITY_INFORMATION)
	require.NoError(t, err)
	assert.Contains(t, sd.String(), "(ML;OICI;NW;;;LW)")
}
