package main

import (
	"flag"
	"fmt"
	"strings"
)

// suggest returns the candidate a mistyped word most likely meant, or ""
// when none is close: the one candidate it is a prefix of, else the
// nearest within an edit distance of a third of its length (at least 1;
// a swap of two neighbours is one edit).
func suggest(typed string, candidates []string) string {
	if typed == "" {
		return ""
	}
	var prefixed []string
	for _, c := range candidates {
		if strings.HasPrefix(c, typed) {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	best, bestD := "", max(1, len(typed)/3)+1
	for _, c := range candidates {
		if d := editDistance(typed, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b:
// insertions, deletions, substitutions and swaps of neighbours, bytewise.
// Both are a verb or a flag name the user typed: a few bytes, so the
// quadratic table costs nothing worth bounding beyond the cap below.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 { // nobody mistypes a 64-byte verb
		return max(len(a), len(b))
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// didYouMean is "; did you mean X?" or "".
func didYouMean(s string) string {
	if s == "" {
		return ""
	}
	return "; did you mean " + s + "?"
}

// unknownVerb is the one line for a verb that does not exist.
func unknownVerb(prefix, verb string) string {
	return fmt.Sprintf("%s: unknown verb %q%s (%s --help lists the verbs)\n", prefix, verb, didYouMean(suggest(verb, verbNames())), self)
}

// flagError is a flag that did not parse, said in one line: what is
// wrong, the nearest flag for an unknown one, and where the flags are
// listed (not the whole usage page).
type flagError struct{ msg string }

func (e *flagError) Error() string { return e.msg }

const undefinedFlag = "flag provided but not defined: -"

// describeFlagError turns an error of fs.Parse into a flagError.
func describeFlagError(fs *flag.FlagSet, err error) *flagError {
	msg := strings.Replace(err.Error(), " for flag -", " for flag --", 1)
	if name, ok := strings.CutPrefix(msg, undefinedFlag); ok {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		s := suggest(name, names)
		if s != "" {
			s = "--" + s
		}
		msg = "unknown flag --" + name + didYouMean(s)
	}
	return &flagError{msg: fmt.Sprintf("%s (%s %s --help lists the flags)", msg, self, fs.Name())}
}
