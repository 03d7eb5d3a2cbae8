//go:build !linux

package isolate_test

const supportsDeathSignal = false
