package wasm

import (
	"os"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
)

// NewRootFS is the guest's view of the project over root, for the tests
// that attack it directly (without a guest between) and the benchmark.
func NewRootFS(root *os.Root) experimentalsys.FS { return &rootFS{root: root} }
