package install

import (
	"testing"

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

func TestVersionOrder(t *testing.T) {
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0", "2.0.0"}
	for i := 1; i < len(order); i++ {
		a, _ := parseVersion(order[i-1])
		b, _ := parseVersion(order[i])
		require.Equal(t, -1, a.compare(b), "%s < %s", order[i-1], order[i])
		require.Equal(t, 1, b.compare(a))
	}
}
