//go:build !unix

package lockfile_test

import "errors"

func mkfifo(string) error { return errors.New("no FIFOs") }
