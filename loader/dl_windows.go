//go:build windows

package loader

import "syscall"

// purego has no Dlopen on Windows; the system loader does the same job.
func dlopen(path string) (uintptr, error) {
	h, err := syscall.LoadLibrary(path)
	return uintptr(h), err
}

func dlsym(lib uintptr, name string) (uintptr, error) {
	return syscall.GetProcAddress(syscall.Handle(lib), name)
}

func dlclose(lib uintptr) error { return syscall.FreeLibrary(syscall.Handle(lib)) }
