package host

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/lockfile"
	"github.com/clawd-go/clawd/manifest"
)

// WithLockFile makes the host trust the plugins the installer (package
// install) recorded in the lock file at path: a plugin in the lock file's
// directory whose lock entry names it (DIR/NAME for entry NAME) loads only
// if every one of its files still has the bytes the lock records, and
// nothing was added (checksum_mismatch otherwise, naming the files), and
// is granted no capability the lock does not record (the others are
// refused, as WithCapabilityPolicy refuses them). Such a plugin needs no
// manifest signature: its package's signature was verified when it was
// installed, and the entry the host opens is checked again against the
// lock's sha256 as it is copied. A plugin the lock file does not name is
// verified as any other (WithTrust). The lock file is read again on every
// load and reload, and with WithWatch a change of the lock file reloads
// the plugins beside it, so an install or an update is seen by hot reload.
// Repeat for several plugin directories.
func WithLockFile(path string) Option {
	return optionFunc(func(o *options) {
		if abs, err := filepath.Abs(path); err == nil {
			o.locks = append(o.locks, abs)
		} else {
			o.refuse("WithLockFile", path, err.Error())
		}
	})
}

// lockFor returns the lock entry covering the plugin directory dir, or nil.
// A lock file that exists but cannot be read refuses the plugins of its
// directory: a host told to trust a lock never loads around it.
func (h *Host) lockFor(dir string) (*lockfile.Entry, error) {
	for _, p := range h.o.locks {
		if filepath.Dir(dir) != filepath.Dir(p) {
			continue
		}
		// A missing lock file is an empty lock (nothing installed yet,
		// nothing locked); one that is a link is refused, dangling or not.
		l, err := lockfile.Read(p)
		if err != nil {
			return nil, clawerr.New(clawerr.ChecksumMismatch, "", "verify", "reading the lock file "+p, err)
		}
		if e := l.Plugins[filepath.Base(dir)]; e != nil {
			return e, nil
		}
	}
	return nil, nil
}

// checkLocked checks the plugin m against its lock entry and narrows the
// capabilities granted to those the lock records.
func checkLocked(le *lockfile.Entry, m *manifest.Manifest, lo *openInfo) error {
	if le.Name != m.Name || le.Version != m.Version {
		return clawerr.New(clawerr.ChecksumMismatch, m.Name, "verify",
			fmt.Sprintf("the manifest says %s %s, the lock file records %s %s", m.Name, m.Version, le.Name, le.Version), nil)
	}
	if err := le.Check(m.Dir); err != nil {
		return err
	}
	var granted []abi.Capability
	for _, c := range lo.granted {
		if slices.Contains(le.Capabilities, string(c)) {
			granted = append(granted, c)
		} else {
			lo.refused = append(lo.refused, c)
			lo.warnings = append(lo.warnings, fmt.Sprintf("capability %s refused: the lock file does not grant it", c))
		}
	}
	lo.granted = granted
	return nil
}

// lockedEntrySum is the sha256 the lock records for the entry m opens.
func lockedEntrySum(le *lockfile.Entry, m *manifest.Manifest) string {
	return le.Files[filepath.ToSlash(filepath.Clean(filepath.FromSlash(m.Entry)))]
}

// lockedDirs returns, when path is one of the lock files, the plugin
// directories beside it: a plugin that failed because its files were in
// place before the installer wrote the lock file loads once it is there.
func (h *Host) lockedDirs(path string) []string {
	if abs, err := filepath.Abs(path); err != nil || !slices.Contains(h.o.locks, abs) {
		return nil
	}
	root := filepath.Dir(path)
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	var out []string
	for d := range h.w.plugins {
		if filepath.Dir(d) == root {
			out = append(out, d)
		}
	}
	return out
}
