package isolate

import "unsafe"

// aliasString views b as a string without copying. Only for strings that
// are used before b is next written: the child's call arguments, which the
// loader copies into C memory before the callback runs.
func aliasString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b)) // b's bytes stay unchanged while the string is in use
}
