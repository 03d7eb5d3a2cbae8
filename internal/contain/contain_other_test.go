//go:build !linux

package contain_test

import (
	"os/exec"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// platformChild has no actions of its own outside Linux.
func platformChild(verb, arg string) (result, bool) { return result{}, false }

// checkProcAttr: a process group of its own where the OS has them.
func checkProcAttr(t *testing.T, cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		return
	}
	if f := reflect.ValueOf(cmd.SysProcAttr).Elem().FieldByName("Setpgid"); f.IsValid() {
		require.True(t, f.Bool())
	}
}
