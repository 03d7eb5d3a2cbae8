//go:build !linux

package loader

import "syscall"

// On systems other than Linux the loader does not yet guard signal
// actions; the package doc says so.
type signalState struct{}

func saveSignals() *signalState                  { return nil }
func (s *signalState) restore() []syscall.Signal { return nil }

const signalGuard = false
