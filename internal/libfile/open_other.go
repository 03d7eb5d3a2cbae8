//go:build !unix

package libfile

import "os"

// openFile opens a path already resolved and examined (Stat refused what
// is not a regular file; fstat then catches a swap).
func openFile(real string) (*os.File, error) { return os.Open(real) }
