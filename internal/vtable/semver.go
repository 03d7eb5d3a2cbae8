package vtable

import "strings"

// IsSemver reports whether v is a version as Semantic Versioning 2.0.0
// defines it: MAJOR.MINOR.PATCH, optional -prerelease and +build, no
// leading zeros in numeric parts, no "v" prefix.
func IsSemver(v string) bool {
	core, build, hasBuild := strings.Cut(v, "+")
	if hasBuild && !dotted(build, false) {
		return false
	}
	core, pre, hasPre := strings.Cut(core, "-")
	if hasPre && !dotted(pre, true) {
		return false
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if !numeric(p) {
			return false
		}
	}
	return true
}

// numeric: digits, no leading zero unless the number is 0.
func numeric(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// dotted checks dot-separated identifiers of [0-9A-Za-z-]; in a prerelease
// a purely numeric identifier must not have a leading zero.
func dotted(s string, pre bool) bool {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		digits := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				digits = false
			default:
				return false
			}
		}
		if pre && digits && !numeric(id) {
			return false
		}
	}
	return true
}
