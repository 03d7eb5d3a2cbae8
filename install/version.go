package install

import (
	"fmt"
	"strconv"
	"strings"
)

// version is a semantic version: MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD].
type version struct {
	major, minor, patch uint64
	pre                 string
}

// parseVersion parses a full semantic version (a leading "v" allowed).
func parseVersion(s string) (version, error) {
	v, n, err := parsePartial(s)
	if err != nil {
		return v, err
	}
	if n != 3 {
		return v, fmt.Errorf("version %q: want MAJOR.MINOR.PATCH", s)
	}
	return v, nil
}

// parsePartial parses 1, 1.2 or 1.2.3 (with prerelease and build on a full
// one) and says how many numbers it had.
func parsePartial(s string) (version, int, error) {
	var v version
	t := strings.TrimPrefix(s, "v")
	if i := strings.IndexByte(t, '+'); i >= 0 {
		if !validIdents(t[i+1:], false) {
			return v, 0, fmt.Errorf("version %q: bad build metadata", s)
		}
		t = t[:i]
	}
	if i := strings.IndexByte(t, '-'); i >= 0 {
		v.pre = t[i+1:]
		if !validIdents(v.pre, true) {
			return v, 0, fmt.Errorf("version %q: bad prerelease", s)
		}
		t = t[:i]
	}
	parts := strings.Split(t, ".")
	if len(parts) > 3 || t == "" {
		return v, 0, fmt.Errorf("version %q: want MAJOR[.MINOR[.PATCH]]", s)
	}
	if v.pre != "" && len(parts) != 3 {
		return v, 0, fmt.Errorf("version %q: a prerelease needs MAJOR.MINOR.PATCH", s)
	}
	nums := []*uint64{&v.major, &v.minor, &v.patch}
	for i, p := range parts {
		if p == "" || len(p) > 1 && p[0] == '0' || strings.Trim(p, "0123456789") != "" {
			return v, 0, fmt.Errorf("version %q: %q is not a number (no leading zeros)", s, p)
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return v, 0, fmt.Errorf("version %q: %v", s, err)
		}
		*nums[i] = n
	}
	return v, len(parts), nil
}

func validIdents(s string, pre bool) bool {
	if s == "" {
		return false
	}
	for _, id := range strings.Split(s, ".") {
		if id == "" || strings.Trim(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") != "" {
			return false
		}
		if pre && len(id) > 1 && id[0] == '0' && strings.Trim(id, "0123456789") == "" {
			return false // numeric identifiers have no leading zeros
		}
	}
	return true
}

// compare orders versions by semver precedence (build metadata ignored).
func (a version) compare(b version) int {
	for _, d := range [][2]uint64{{a.major, b.major}, {a.minor, b.minor}, {a.patch, b.patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.pre == b.pre:
		return 0
	case a.pre == "":
		return 1
	case b.pre == "":
		return -1
	}
	ai, bi := strings.Split(a.pre, "."), strings.Split(b.pre, ".")
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

// constraint is a conjunction of comparisons.
type constraint struct {
	text  string
	terms []term
	exact bool // one exact version: the only kind that selects a prerelease
}

type term struct {
	op string // "=", ">", ">=", "<", "<="
	v  version
}

// parseConstraint parses what follows NAME@: "" (any), 1.2.0 (exactly),
// 1.2 (1.2.x), ^1.2 (>=1.2.0 <2.0.0; ^0.2: <0.3.0; ^0.0.3: <0.0.4),
// ~1.2 (>=1.2.0 <1.3.0; ~1: <2.0.0), >=1.0, >1.0, <2, <=2, =1.2.0, and
// several of them separated by commas or spaces, all of which must hold.
func parseConstraint(s string) (constraint, error) {
	c := constraint{text: s}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
	for _, f := range fields {
		op := ""
		for _, o := range []string{">=", "<=", "^", "~", ">", "<", "="} {
			if strings.HasPrefix(f, o) {
				op, f = o, strings.TrimPrefix(f, o)
				break
			}
		}
		v, n, err := parsePartial(f)
		if err != nil {
			return c, err
		}
		upper := func(level int) version { // the next version at level 0 major, 1 minor, 2 patch
			switch level {
			case 0:
				return version{major: v.major + 1}
			case 1:
				return version{major: v.major, minor: v.minor + 1}
			}
			return version{major: v.major, minor: v.minor, patch: v.patch + 1}
		}
		lowBound := version{major: v.major, minor: v.minor, patch: v.patch, pre: v.pre}
		switch op {
		case "", "=":
			if n == 3 {
				c.terms = append(c.terms, term{"=", v})
				c.exact = len(fields) == 1
			} else {
				c.terms = append(c.terms, term{">=", lowBound}, term{"<", upper(n - 1)})
			}
		case "^":
			level := 0
			switch {
			case v.major == 0 && (n == 1):
				level = 0
			case v.major == 0 && v.minor == 0 && n == 3:
				level = 2
			case v.major == 0:
				level = 1
			}
			c.terms = append(c.terms, term{">=", lowBound}, term{"<", upper(level)})
		case "~":
			level := 1
			if n == 1 {
				level = 0
			}
			c.terms = append(c.terms, term{">=", lowBound}, term{"<", upper(level)})
		case ">=", ">", "<", "<=":
			if op == ">" && n < 3 {
				c.terms = append(c.terms, term{">=", upper(n - 1)})
			} else if op == "<=" && n < 3 {
				c.terms = append(c.terms, term{"<", upper(n - 1)})
			} else {
				c.terms = append(c.terms, term{op, lowBound})
			}
		}
	}
	return c, nil
}

// matches reports whether v satisfies c. A prerelease satisfies only an
// exact constraint naming it.
func (c constraint) matches(v version) bool {
	if v.pre != "" && !c.exact {
		return false
	}
	for _, t := range c.terms {
		d := v.compare(t.v)
		ok := false
		switch t.op {
		case "=":
			ok = d == 0
		case ">":
			ok = d > 0
		case ">=":
			ok = d >= 0
		case "<":
			ok = d < 0
		case "<=":
			ok = d <= 0
		}
		if !ok {
			return false
		}
	}
	return true
}
