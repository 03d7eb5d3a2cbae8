//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd && !windows

package isolate

import "errors"

// pending is not known here: endCall then leaves the judgement of stale
// frames to the child.
func pending(uintptr) (int, error) { return 0, errors.ErrUnsupported }
