//go:build darwin || freebsd || linux

package loader

import "github.com/ebitengine/purego"

// dlopen opens the library with its symbols resolved now and kept local,
// so two plugins that export the same names do not bind to each other.
func dlopen(path string) (uintptr, error) {
	return purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
}

func dlsym(lib uintptr, name string) (uintptr, error) { return purego.Dlsym(lib, name) }

func dlclose(lib uintptr) error { return purego.Dlclose(lib) }
