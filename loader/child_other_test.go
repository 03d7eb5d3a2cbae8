//go:build !linux

package loader_test

import (
	"fmt"
	"os"
)

// The child scenarios read /proc/self/maps: Linux only.
func childMain(mode string) int {
	fmt.Fprintln(os.Stderr, "unknown mode", mode)
	return 99
}
