package contain_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/contain"
)

// TestTree: Prepare makes a pids cgroup for a bound (this machine has a
// writable pids hierarchy), the confined child joins it and reports it,
// and Release removes it.
func TestTree(t *testing.T) {
	p := contain.Policy{MaxProcesses: 7}
	st, err := contain.Prepare(exec.Command(os.Args[0]), p)
	require.NoError(t, err)
	require.NotNil(t, st.Tree, "no pids cgroup could be made here")
	require.Contains(t, []int{1, 2}, st.Tree.Version)
	require.Equal(t, 7+contain.RuntimeTasks, st.Tree.Max)
	max, err := os.ReadFile(filepath.Join(st.Tree.Dir, "pids.max"))
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(7+contain.RuntimeTasks), strings.TrimSpace(string(max)))
	require.NoError(t, st.Tree.Release())
	require.NoDirExists(t, st.Tree.Dir)

	res := runConfined(t, p, "report")
	require.True(t, res.Report.PIDNamespace)
	require.Contains(t, []int{1, 2}, res.Report.Cgroup)
	require.Equal(t, 7, res.Report.MaxProcesses)
	require.Contains(t, res.String, "dies with parent, pid namespace, pids cgroup v"+strconv.Itoa(res.Report.Cgroup)+" (max 7)")
	require.Equal(t, res.Report.Cgroup, contain.Probe(p).Cgroup, "Probe foresees the cgroup")
}
