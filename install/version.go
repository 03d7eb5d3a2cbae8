package install

import (
	"strings"

	"github.com/clawd-go/clawd/internal/semver"
)

// version is a semantic version (internal/semver: no "v" prefix).
type version = semver.Version

// parseVersion parses a full semantic version.
func parseVersion(s string) (version, error) { return semver.Parse(s) }

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
		v, n, err := semver.ParsePartial(f)
		if err != nil {
			return c, err
		}
		upper := func(level int) version { // the next version at level 0 major, 1 minor, 2 patch
			switch level {
			case 0:
				return version{Major: v.Major + 1}
			case 1:
				return version{Major: v.Major, Minor: v.Minor + 1}
			}
			return version{Major: v.Major, Minor: v.Minor, Patch: v.Patch + 1}
		}
		lowBound := v
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
			case v.Major == 0 && (n == 1):
				level = 0
			case v.Major == 0 && v.Minor == 0 && n == 3:
				level = 2
			case v.Major == 0:
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
	if v.Pre != "" && !c.exact {
		return false
	}
	for _, t := range c.terms {
		d := v.Compare(t.v)
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
