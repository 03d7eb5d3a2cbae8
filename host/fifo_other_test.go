//go:build !unix

package host_test

import "errors"

// Windows has no FIFO files: the reload case that needs one is skipped.
const haveFIFO = false

func mkfifo(string) error { return errors.New("no FIFO files on this OS") }
