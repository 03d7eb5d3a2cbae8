//go:build linux

package manifest_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
)

// A character device inside the plugin directory (mknod needs privilege;
// the symlink to /dev/zero case is in TestVerifyEntrySymlinks).
func TestVerifyRefusesDeviceEntry(t *testing.T) {
	dir, _ := echoDir(t, "")
	p := filepath.Join(dir, entry)
	require.NoError(t, os.Remove(p))
	var st syscall.Stat_t
	require.NoError(t, syscall.Stat("/dev/zero", &st))
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o644, int(st.Rdev)); err != nil {
		t.Skip("mknod needs privilege here:", err)
	}
	refusedEntry(t, off, dir, clawerr.OpenFailed, entry+": a character device, not a regular file")
}
