// Package dl opens shared libraries and finds their symbols: dlopen, dlsym
// and dlclose through purego on darwin, freebsd and linux, LoadLibraryExW,
// GetProcAddress and FreeLibrary on Windows. It is the one place the
// module loads native code; every error names the library or the symbol.
package dl

import (
	"fmt"
	"strings"
)

// named returns err with name in front unless the system's message
// already says it (dlerror usually does), so a message never repeats it.
func named(name string, err error) error {
	if err == nil || strings.Contains(err.Error(), name) {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}
