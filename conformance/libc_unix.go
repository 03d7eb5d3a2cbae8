//go:build darwin || freebsd || linux

package conformance

import (
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/clawd-go/clawd/internal/dl"
	"github.com/clawd-go/clawd/internal/foreign"
)

// cEnviron reads libc's environment, which a plugin's setenv changes; Go's
// os.Environ is a copy taken at start-up and never sees it.
func cEnviron() ([]string, bool) {
	addr, err := dl.Sym(dl.Default, "environ")
	if err != nil || addr == 0 {
		return nil, false
	}
	envp := *(*uintptr)(foreign.Ptr(addr))
	var env []string
	for i := uintptr(0); envp != 0; i++ {
		p := *(*uintptr)(foreign.Ptr(envp + i*unsafe.Sizeof(uintptr(0))))
		if p == 0 {
			break
		}
		n := foreign.Strlen(p, 1<<20)
		if n < 0 {
			n = 1 << 20
		}
		env = append(env, string(foreign.Bytes(p, n)))
	}
	return env, true
}

// flushStdio flushes C's stdio buffers: a plugin's printf into a pipe
// sits in a buffer that exit_group, which Go's exit uses, never flushes.
func flushStdio() {
	if fn, err := dl.Sym(dl.Default, "fflush"); err == nil && fn != 0 {
		purego.SyscallN(fn, 0)
	}
}
