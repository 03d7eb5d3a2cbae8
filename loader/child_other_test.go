//go:build !linux

package loader_test

import (
	"fmt"
	"os"
)

// The child scenarios read /proc/self/maps: Linux only.
func childMain(a childArgs) int {
	fmt.Fprintln(os.Stderr, "unknown mode", a.Mode)
	return 99
}
