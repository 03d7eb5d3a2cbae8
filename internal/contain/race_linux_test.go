//go:build race

package contain_test

func init() { raceOn = true }
