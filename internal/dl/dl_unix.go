//go:build darwin || freebsd || linux

package dl

import (
	"errors"

	"github.com/ebitengine/purego"
)

// Default is the handle that searches the global scope: the program and
// the libraries loaded with it (libc's environ, fflush).
const Default uintptr = purego.RTLD_DEFAULT

// Open opens the library at path with its symbols resolved now and kept
// local, so that two plugins that export the same names do not bind to
// each other, and a missing dependency fails here rather than at a call.
func Open(path string) (uintptr, error) {
	if path == "" {
		return 0, errors.New("dl: empty library path")
	}
	lib, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return 0, named(path, err)
	}
	return lib, nil
}

// Sym returns the address of the symbol name in lib.
func Sym(lib uintptr, name string) (uintptr, error) {
	addr, err := purego.Dlsym(lib, name)
	if err != nil {
		return 0, named(name, err)
	}
	return addr, nil
}

// Close releases lib. The system may keep the library mapped (a library
// with live threads or TLS destructors stays), so unloading is best effort.
func Close(lib uintptr) error {
	return purego.Dlclose(lib)
}
