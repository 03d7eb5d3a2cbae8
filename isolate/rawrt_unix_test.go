//go:build unix

package isolate_test

import (
	"errors"
	"syscall"
)

// rawRoundTrip writes msg to out and reads the 8-byte answer from in, with
// blocking system calls, as the sandbox's channel does.
func rawRoundTrip(out, in int, msg, answer []byte) error {
	for len(msg) > 0 {
		n, err := syscall.Write(out, msg)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		msg = msg[n:]
	}
	for got := 0; got < 8; {
		n, err := syscall.Read(in, answer[got:8])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("the child closed the floor channel")
		}
		got += n
	}
	return nil
}
