package wasmscan

import (
	"bytes"
	"os"
)

// IsModuleFile reports whether the file at path is a WebAssembly binary
// (it opens with the magic "\0asm"): the file the wasm runtime opens. The
// command and the conformance suite ask it to choose that runtime.
func IsModuleFile(path string) bool {
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return false // never open a FIFO or a device: the open may block
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [4]byte
	n, _ := f.Read(head[:])
	return bytes.Equal(head[:n], []byte("\x00asm"))
}
