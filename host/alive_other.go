//go:build !unix && !windows

package host

// processAlive cannot tell here: every process counts as alive, so no
// cache directory is removed but by its own host.
func processAlive(int) bool { return true }
