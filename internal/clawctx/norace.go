//go:build !race

package clawctx

const raceEnabled = false
