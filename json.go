package clawd

import (
	"encoding/json"
	"unsafe"
)

// validJSON reports whether s is one JSON text as encoding/json's Valid
// reads it (RFC 8259 grammar, nesting at most maxJSONDepth deep, bytes
// inside strings not checked for UTF-8), in one pass without allocating.
// json.Valid gives the same answers (FuzzValidJSON holds them equal) at
// about three times the cost, paid by every call's input on the hot path.
func validJSON(s string) bool {
	var objs [shallow / 64]uint64 // bit d: the container at depth d is an object
	depth, i := 0, 0
	for {
		// A value starts at i, after whitespace.
		i = skipWS(s, i)
		if i >= len(s) {
			return false
		}
		switch c := s[i]; c {
		case '{', '[':
			if depth == shallow { // rare: encoding/json, with its own stack, judges it
				return json.Valid(unsafe.Slice(unsafe.StringData(s), len(s)))
			}
			w, bit := depth>>6, uint64(1)<<(depth&63)
			if c == '{' {
				objs[w] |= bit
			} else {
				objs[w] &^= bit
			}
			depth++
			i = skipWS(s, i+1)
			if i < len(s) && s[i] == c+2 { // '}' and ']' are '{' and '[' plus 2
				depth--
				i++
				break
			}
			if c == '{' {
				i = scanKey(s, i)
			}
			if i < 0 {
				return false
			}
			continue
		case '"':
			i = scanString(s, i)
		case 't':
			i = literal(s, i, "true")
		case 'f':
			i = literal(s, i, "false")
		case 'n':
			i = literal(s, i, "null")
		default:
			i = scanNumber(s, i)
		}
		if i < 0 {
			return false
		}
		// After a value: close the containers that end here, then a comma
		// (and in an object the next key) before the next value.
		for {
			i = skipWS(s, i)
			if depth == 0 {
				return i == len(s)
			}
			if i >= len(s) {
				return false
			}
			d := depth - 1
			obj := objs[d>>6]&(uint64(1)<<(d&63)) != 0
			c := s[i]
			if c == ',' {
				i++
				if obj {
					if i = scanKey(s, skipWS(s, i)); i < 0 {
						return false
					}
				}
				break
			}
			if (obj && c == '}') || (!obj && c == ']') {
				depth--
				i++
				continue
			}
			return false
		}
	}
}

// maxJSONDepth is encoding/json's limit on nesting.
const maxJSONDepth = 10000

// shallow is the nesting validJSON tracks itself, in a few words of stack
// that every call clears; deeper text goes to json.Valid, which only
// reads it.
const shallow = 256

func skipWS(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanKey reads a key and its colon at i; -1 if they are not there.
func scanKey(s string, i int) int {
	if i >= len(s) || s[i] != '"' {
		return -1
	}
	if i = scanString(s, i); i < 0 {
		return -1
	}
	if i = skipWS(s, i); i >= len(s) || s[i] != ':' {
		return -1
	}
	return i + 1
}

// scanString reads the string that opens at i and returns the index after
// its closing quote, -1 if it is not a valid JSON string.
func scanString(s string, i int) int {
	for i++; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		switch c {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(s) {
				return -1
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default: // a control byte
			return -1
		}
	}
	return -1
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func literal(s string, i int, w string) int {
	if len(s)-i < len(w) || s[i:i+len(w)] != w {
		return -1
	}
	return i + len(w)
}

// scanNumber reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at i.
func scanNumber(s string, i int) int {
	if s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return -1
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		i = digits(s, i+1)
	default:
		return -1
	}
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(s, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
