//go:build !unix

package conformance

func umask() (int, bool) { return 0, false }
