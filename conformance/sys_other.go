//go:build !linux

package conformance

// Signal actions and threads are read on Linux only; elsewhere the checks
// that need them skip, saying so.
type sigActions struct{}

type changedSignal struct {
	name    string
	noStack bool
}

const signalsSupported = false

func readSignals() *sigActions                                { return nil }
func (s *sigActions) restore()                                {}
func (s *sigActions) changes(now *sigActions) []changedSignal { return nil }
func foreignThreads() (int, bool)                             { return 0, false }
