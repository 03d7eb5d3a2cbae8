package semver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValid(t *testing.T) {
	good := []string{"0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7",
		"1.0.0-x.7.z.92", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85", "1.0.0-rc.1+build.1"}
	bad := []string{"", "1", "1.2", "v1.2.3", "01.2.3", "1.02.3", "1.2.03", "1.2.3-", "1.2.3+",
		"1.2.3-01", "1.2.3-a..b", "1.2.3.4", "1.2.3-é", "not-semver", " 1.2.3", "1.2.99999999999999999999"}
	for _, v := range good {
		assert.True(t, Valid(v), v)
	}
	for _, v := range bad {
		assert.False(t, Valid(v), v)
	}
}

// A leading "v" is refused with the fix: the ABI, the manifest and the
// index read a version one way.
func TestNoVPrefix(t *testing.T) {
	_, err := Parse("v1.2.3")
	require.ErrorContains(t, err, `no "v" prefix (write 1.2.3)`)
	_, _, err = ParsePartial("v1")
	require.Error(t, err)
}

func TestParsePartial(t *testing.T) {
	for s, n := range map[string]int{"1": 1, "1.2": 2, "1.2.3": 3, "1.2.3-rc.1": 3, "0": 1} {
		_, got, err := ParsePartial(s)
		require.NoError(t, err, s)
		require.Equal(t, n, got, s)
	}
	for _, bad := range []string{"1.2-rc", "1+b", "1.2.3.4", "", "x", "1..2", "01"} {
		_, _, err := ParsePartial(bad)
		require.Error(t, err, bad)
	}
	v, _, err := ParsePartial("1.2.3-rc.1+b")
	require.NoError(t, err)
	require.Equal(t, Version{1, 2, 3, "rc.1"}, v)
}

func TestCompare(t *testing.T) {
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0", "2.0.0"}
	for i := 1; i < len(order); i++ {
		a, err := Parse(order[i-1])
		require.NoError(t, err)
		b, err := Parse(order[i])
		require.NoError(t, err)
		require.Equal(t, -1, a.Compare(b), "%s < %s", order[i-1], order[i])
		require.Equal(t, 1, b.Compare(a))
		require.Equal(t, 0, a.Compare(a))
	}
	a, _ := Parse("1.0.0+x")
	b, _ := Parse("1.0.0+y")
	require.Equal(t, 0, a.Compare(b), "build metadata has no precedence")
}
