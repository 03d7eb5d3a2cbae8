//go:build !linux && !windows

package isolate_test

const supportsDeathSignal = false

func running(pid int) bool { return alive(pid) }
