//go:build windows

package conformance

// The C environment and stdio are not compared on Windows yet.
func cEnviron() ([]string, bool) { return nil, false }

func flushStdio() {}
