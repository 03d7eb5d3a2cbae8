//go:build windows

package conformance

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

// The C environment and stdio are not compared on Windows yet.
func cEnviron() ([]string, bool) { return nil, false }

func flushStdio() {}
