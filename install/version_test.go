package install

import (
	"testing"

	"github.com/clawd-go/clawd/internal/pkgindex"
	"github.com/stretchr/testify/require"
)

func TestConstraints(t *testing.T) {
	cases := []struct {
		c   string
		yes []string
		no  []string
	}{
		{"", []string{"0.0.1", "1.0.0", "9.9.9"}, []string{"1.0.0-rc.1"}},
		{"1.2.0", []string{"1.2.0", "1.2.0+build"}, []string{"1.2.1", "1.1.9"}},
		{"=1.2.0", []string{"1.2.0"}, []string{"1.2.1"}},
		{"1.2.0-rc.1", []string{"1.2.0-rc.1"}, []string{"1.2.0"}},
		{"1.2", []string{"1.2.0", "1.2.9"}, []string{"1.3.0", "1.1.0"}},
		{"^1.2", []string{"1.2.0", "1.9.0"}, []string{"2.0.0", "1.1.9", "2.0.0-rc.1"}},
		{"^0.2", []string{"0.2.0", "0.2.9"}, []string{"0.3.0"}},
		{"^0.0.3", []string{"0.0.3"}, []string{"0.0.4"}},
		{"^0", []string{"0.5.0"}, []string{"1.0.0"}},
		{"~1.2", []string{"1.2.0", "1.2.7"}, []string{"1.3.0"}},
		{"~1", []string{"1.0.0", "1.9.0"}, []string{"2.0.0"}},
		{">=1.0", []string{"1.0.0", "5.0.0"}, []string{"0.9.9"}},
		{">1.0", []string{"1.1.0"}, []string{"1.0.5", "1.0.0"}},
		{">1.0.0", []string{"1.0.1"}, []string{"1.0.0"}},
		{"<2", []string{"1.9.9"}, []string{"2.0.0"}},
		{"<=1.2", []string{"1.2.9"}, []string{"1.3.0"}},
		{">=1.0, <1.2", []string{"1.1.0"}, []string{"1.2.0", "0.1.0"}},
	}
	for _, c := range cases {
		k, err := parseConstraint(c.c)
		require.NoError(t, err, c.c)
		for _, v := range c.yes {
			pv, err := parseVersion(v)
			require.NoError(t, err)
			require.True(t, k.matches(pv), "%q should match %s", c.c, v)
		}
		for _, v := range c.no {
			pv, err := parseVersion(v)
			require.NoError(t, err)
			require.False(t, k.matches(pv), "%q should not match %s", c.c, v)
		}
	}
	for _, bad := range []string{"^", "1.2.3.4", "01.2", "x", "1.2-rc", ">=1..2", "1.2.3-"} {
		_, err := parseConstraint(bad)
		require.Error(t, err, bad)
	}
}

// A version with a "v" is refused where it is read, with the fix: in a
// constraint the user typed and in an index's release (one rule for a
// version, internal/semver's).
func TestVersionWithVIsRefused(t *testing.T) {
	_, err := parseConstraint("v1.2")
	require.ErrorContains(t, err, `no "v" prefix (write 1.2)`)
	err = pkgindex.CheckRelease("echo", pkgindex.Release{Version: "v1.0.0", Archive: "echo-1.0.0.tar.gz", Size: 1}, &pkgindex.Index{})
	require.ErrorContains(t, err, `no "v" prefix (write 1.0.0)`)
}
