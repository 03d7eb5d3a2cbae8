// Package semver is the one reading of a version in this module: Semantic
// Versioning 2.0.0, MAJOR.MINOR.PATCH with optional -prerelease and
// +build, no leading zeros, no "v" prefix. A plugin's table, its
// manifest's version checks and the installer's index all use it.
package semver

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a parsed version; build metadata is dropped (it has no
// precedence).
type Version struct {
	Major, Minor, Patch uint64
	Pre                 string // the prerelease, "" for a release
}

// Valid reports whether s is a version (Parse returns no error).
func Valid(s string) bool {
	_, err := Parse(s)
	return err == nil
}

// Parse parses a full version.
func Parse(s string) (Version, error) {
	v, n, err := ParsePartial(s)
	if err == nil && n != 3 {
		err = fmt.Errorf("version %q: want MAJOR.MINOR.PATCH", s)
	}
	return v, err
}

// ParsePartial parses 1, 1.2 or 1.2.3 (a prerelease and build metadata on
// a full one only) and says how many numbers it had: the form of a
// version constraint's operand.
func ParsePartial(s string) (v Version, n int, err error) {
	t, extra := s, false
	if strings.HasPrefix(t, "v") {
		return v, 0, fmt.Errorf("version %q: no \"v\" prefix (write %s)", s, t[1:])
	}
	if i := strings.IndexByte(t, '+'); i >= 0 {
		if !idents(t[i+1:], false) {
			return v, 0, fmt.Errorf("version %q: bad build metadata (dot-separated [0-9A-Za-z-])", s)
		}
		t = t[:i]
		extra = true
	}
	if i := strings.IndexByte(t, '-'); i >= 0 {
		v.Pre = t[i+1:]
		if !idents(v.Pre, true) {
			return v, 0, fmt.Errorf("version %q: bad prerelease (dot-separated [0-9A-Za-z-], numbers without leading zeros)", s)
		}
		t = t[:i]
		extra = true
	}
	parts := strings.Split(t, ".")
	if len(parts) > 3 || t == "" {
		return v, 0, fmt.Errorf("version %q: want MAJOR[.MINOR[.PATCH]]", s)
	}
	if extra && len(parts) != 3 {
		return v, 0, fmt.Errorf("version %q: a prerelease or build needs MAJOR.MINOR.PATCH", s)
	}
	nums := []*uint64{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		if !numeric(p) {
			return v, 0, fmt.Errorf("version %q: %q is not a number (digits, no leading zeros)", s, p)
		}
		x, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return v, 0, fmt.Errorf("version %q: %q is too large", s, p)
		}
		*nums[i] = x
	}
	return v, len(parts), nil
}

// numeric: digits, no leading zero unless the number is 0.
func numeric(s string) bool {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}

// idents checks dot-separated identifiers of [0-9A-Za-z-]; in a
// prerelease a purely numeric identifier has no leading zero.
func idents(s string, pre bool) bool {
	for _, id := range strings.Split(s, ".") {
		if id == "" || strings.Trim(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") != "" {
			return false
		}
		if pre && strings.Trim(id, "0123456789") == "" && !numeric(id) {
			return false
		}
	}
	return true
}

// Compare orders a and b by precedence: -1, 0 or +1.
func (a Version) Compare(b Version) int {
	for _, d := range [][2]uint64{{a.Major, b.Major}, {a.Minor, b.Minor}, {a.Patch, b.Patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.Pre == b.Pre:
		return 0
	case a.Pre == "":
		return 1 // a release follows its prereleases
	case b.Pre == "":
		return -1
	}
	ai, bi := strings.Split(a.Pre, "."), strings.Split(b.Pre, ".")
	for i := 0; i < len(ai) && i < len(bi); i++ {
		x, xerr := strconv.ParseUint(ai[i], 10, 64)
		y, yerr := strconv.ParseUint(bi[i], 10, 64)
		switch {
		case xerr == nil && yerr == nil:
			if x != y {
				if x < y {
					return -1
				}
				return 1
			}
		case xerr == nil:
			return -1 // numeric identifiers sort before alphanumeric ones
		case yerr == nil:
			return 1
		default:
			if c := strings.Compare(ai[i], bi[i]); c != 0 {
				return c
			}
		}
	}
	switch {
	case len(ai) < len(bi):
		return -1
	case len(ai) > len(bi):
		return 1
	}
	return 0
}
