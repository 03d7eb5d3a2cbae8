// Package optdefaults holds the defaults of library options that the
// clawd-plugin command also shows as its flags' defaults, so that the
// command and the library agree without the library exporting them (each
// option's doc states its default).
package optdefaults

import "time"

const (
	// CheckTimeout bounds each conformance check's child process
	// (conformance.WithTimeout, check --timeout).
	CheckTimeout = 10 * time.Second
	// LockWait is how long an installer's operation waits for another
	// installer to finish with the plugin directory before it is busy
	// (install.WithLockWait, --wait).
	LockWait = 30 * time.Second
)
