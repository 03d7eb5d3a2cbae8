package boundary

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
)

// Identity is who a plugin is on its log lines and events.
type Identity struct {
	Name    string // field plugin, Event.Plugin
	Version string // field version, Event.Version
	Library string // field library: the library's own name where it differs from Name; "" otherwise
}

// Identify is the one rule of whose name wins (clawd.WithIdentity): the
// host's name when it gave one, else the library's; the library's version
// when it has one (a new build announces itself), else the host's; the
// library's own name kept as Library where it differs. An empty hostName
// keeps the library's identity whole.
func Identify(libName, libVersion, hostName, hostVersion string) Identity {
	if hostName == "" {
		return Identity{Name: libName, Version: libVersion}
	}
	id := Identity{Name: hostName, Version: libVersion}
	if id.Version == "" {
		id.Version = hostVersion
	}
	if libName != "" && libName != hostName {
		id.Library = libName
	}
	return id
}

// Logger is l with the identity's fields: library where set, then plugin
// and version.
func (id Identity) Logger(l *zap.Logger) *zap.Logger {
	if id.Library != "" {
		l = l.With(zap.String("library", id.Library))
	}
	return l.With(zap.String("plugin", id.Name), zap.String("version", id.Version))
}

// Named is the name a library goes by: its own, or, when it named itself
// nothing, the stem of the file at path (as the reference daemon names it:
// "libgrep.so.1" is "libgrep"), with the warning that says so.
func Named(name, path string) (string, string) {
	if name != "" {
		return name, ""
	}
	stem := filepath.Base(path)
	if i := strings.IndexByte(stem, '.'); i > 0 {
		stem = stem[:i]
	}
	return stem, fmt.Sprintf("using the file stem %q as the name", stem)
}
