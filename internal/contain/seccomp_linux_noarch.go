//go:build linux && !amd64 && !arm64

package contain

// No filter here: Report notes that socket(2) is not restricted.
const (
	auditArch = 0
	x32Bit    = 0
)
