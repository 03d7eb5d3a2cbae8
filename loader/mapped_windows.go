package loader

import (
	"errors"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// fileID names the library as the Windows loader does: its absolute path.
type fileID struct{ path string }

func identify(path string) fileID {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fileID{}
	}
	return fileID{path: abs}
}

// mapped reports whether the module is still loaded in this process (a
// FreeLibrary only drops one reference: a library the plugin loaded itself
// again stays); known is false when the loader cannot say.
func (id fileID) mapped() (mapped, known bool) {
	if id.path == "" {
		return false, false
	}
	var h windows.Handle
	p, err := windows.UTF16PtrFromString(id.path)
	if err != nil {
		return false, false
	}
	err = windows.GetModuleHandleEx(windows.GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT, p, &h)
	switch {
	case err == nil:
		return true, true
	case errors.Is(err, windows.ERROR_MOD_NOT_FOUND):
		return false, true
	}
	return false, false
}
