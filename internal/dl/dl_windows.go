//go:build windows

package dl

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// The library's own directory, then the system's (System32 and the
// directories added with AddDllDirectory); never the current directory
// or PATH, where anyone could place a DLL of the same name.
const searchFlags = windows.LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | windows.LOAD_LIBRARY_SEARCH_DEFAULT_DIRS

// Open loads the DLL at path. The path is made absolute first:
// LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR requires it, and an absolute path is
// never looked up in the search order.
func Open(path string) (uintptr, error) {
	if path == "" {
		return 0, errors.New("dl: empty library path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	h, err := windows.LoadLibraryEx(abs, 0, searchFlags)
	if err != nil {
		return 0, named(path, err)
	}
	return uintptr(h), nil
}

// Sym returns the address of the exported symbol name in lib.
func Sym(lib uintptr, name string) (uintptr, error) {
	addr, err := windows.GetProcAddress(windows.Handle(lib), name)
	if err != nil {
		return 0, named(name, err)
	}
	return addr, nil
}

// Close releases lib.
func Close(lib uintptr) error {
	return windows.FreeLibrary(windows.Handle(lib))
}
