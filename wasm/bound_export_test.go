package wasm

import "github.com/tetratelabs/wazero"

// CompileSlots is how many compiles may be in flight in the process.
func CompileSlots() int { return cap(compileSlots) }

// HoldCompiles makes every compile wait until release is closed before
// it starts, and returns a function that puts wazero's compile back.
func HoldCompiles(release <-chan struct{}) (restore func()) {
	prev := compileModule
	compileModule = func(rt wazero.Runtime, bin []byte) (wazero.CompiledModule, error) {
		<-release
		return prev(rt, bin)
	}
	return func() { compileModule = prev }
}

// WaitCompiles returns when no compile is in flight (the abandoned ones
// of an earlier test have ended).
func WaitCompiles() {
	for i := 0; i < cap(compileSlots); i++ {
		compileSlots <- struct{}{}
	}
	for i := 0; i < cap(compileSlots); i++ {
		<-compileSlots
	}
}
