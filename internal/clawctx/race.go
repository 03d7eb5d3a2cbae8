//go:build race

package clawctx

// raceEnabled: the race detector runs, and does not see atomic operations
// on C memory (SerialLock's word): the lock tells it of each hand-over on
// a Go variable as well.
const raceEnabled = true
