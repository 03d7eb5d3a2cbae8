//go:build !linux

package host_test

// threadCPU is not read on this system.
func threadCPU() (int64, bool) { return 0, false }
