package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// BurntSushi/toml keeps key positions to itself, so the lines in error
// messages come from this scanner. It runs only on documents the decoder has
// accepted, so it can be small: where it meets something it does not follow
// it stops, and the keys after that point are reported without a line.

// span is where a key sits: its line, and for a key/value the byte range
// from the key's first byte to the value's last (what the signature
// rewriter replaces).
type span struct {
	line       int
	start, end int
}

// maxDepth bounds nesting of arrays and inline tables the scanner follows.
const maxDepth = 64

// indexTOML maps each key of src to its span. Keys are named as in error
// messages: dotted pieces ("entry.linux"), array elements as "[i]"
// ("capabilities[1]"); a table header counts as its key's position.
func indexTOML(src []byte) map[string]span {
	idx, _ := scanTOML(src)
	return idx
}

// scanTOML is indexTOML and where each table header ends.
func scanTOML(src []byte) (map[string]span, map[string]int) {
	s := &tscan{src: src, line: 1, idx: map[string]span{}, hdr: map[string]int{}}
	s.document()
	return s.idx, s.hdr
}

type tscan struct {
	src  []byte
	i    int
	line int
	bad  bool // met something it does not follow: stop
	idx  map[string]span
	aot  map[string]int // array-of-tables counts
	hdr  map[string]int // table header ([key]) -> offset just past its ']'
}

func (s *tscan) eof() bool { return s.bad || s.i >= len(s.src) }

func (s *tscan) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

func (s *tscan) has(prefix string) bool {
	return !s.eof() && bytes.HasPrefix(s.src[s.i:], []byte(prefix))
}

func (s *tscan) record(key string, sp span) {
	if _, ok := s.idx[key]; !ok && key != "" {
		s.idx[key] = sp
	}
}

// skipBlank skips spaces and tabs; with newlines also newlines and comments.
func (s *tscan) skipBlank(newlines bool) {
	for !s.eof() {
		switch c := s.src[s.i]; {
		case c == ' ' || c == '\t':
			s.i++
		case newlines && (c == '\r' || c == '\n'):
			if c == '\n' {
				s.line++
			}
			s.i++
		case newlines && c == '#':
			s.skipComment()
		default:
			return
		}
	}
}

func (s *tscan) skipComment() {
	for !s.eof() && s.src[s.i] != '\n' {
		s.i++
	}
}

func (s *tscan) document() {
	table := ""
	for {
		s.skipBlank(true)
		if s.eof() {
			return
		}
		line := s.line
		if s.peek() == '[' {
			s.i++
			array := s.peek() == '['
			if array {
				s.i++
			}
			key := s.key()
			s.skipBlank(false)
			if s.peek() != ']' {
				s.bad = true
				return
			}
			s.i++
			if array {
				if s.peek() != ']' {
					s.bad = true
					return
				}
				s.i++
				if s.aot == nil {
					s.aot = map[string]int{}
				}
				n := s.aot[key]
				s.aot[key] = n + 1
				s.record(key, span{line: line})
				key = fmt.Sprintf("%s[%d]", key, n)
			}
			s.record(key, span{line: line})
			if !array {
				s.hdr[key] = s.i
			}
			table = key
		} else {
			start := s.i
			key := s.key()
			s.skipBlank(false)
			if s.peek() != '=' {
				s.bad = true
				return
			}
			s.i++
			s.skipBlank(false)
			full := join(table, key)
			s.prefixes(full, line)
			s.value(full, 0)
			sp := s.idx[full]
			sp.start, sp.end = start, s.i
			s.idx[full] = sp
		}
		s.skipBlank(false)
		if s.peek() == '#' {
			s.skipComment()
		}
		if !s.eof() && s.peek() != '\n' && s.peek() != '\r' {
			s.bad = true
			return
		}
	}
}

// prefixes records key and each dotted prefix of it (entry.linux defines
// entry) at line.
func (s *tscan) prefixes(key string, line int) {
	s.record(key, span{line: line})
	for i := len(key) - 1; i > 0; i-- {
		if key[i] == '.' {
			s.record(key[:i], span{line: line})
		}
	}
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// key reads a possibly dotted, possibly quoted key and returns its pieces
// joined by dots.
func (s *tscan) key() string {
	var pieces []string
	for {
		s.skipBlank(false)
		var piece string
		switch s.peek() {
		case '"':
			start := s.i
			s.basicString()
			raw := string(s.src[start:min(s.i, len(s.src))])
			if u, err := strconv.Unquote(raw); err == nil {
				piece = u
			} else {
				piece = strings.Trim(raw, `"`)
			}
		case '\'':
			s.i++
			start := s.i
			for !s.eof() && s.src[s.i] != '\'' && s.src[s.i] != '\n' {
				s.i++
			}
			if s.peek() != '\'' {
				s.bad = true
				return ""
			}
			piece = string(s.src[start:s.i])
			s.i++
		default:
			start := s.i
			for !s.eof() && !strings.ContainsRune(" \t\r\n=.[]#\"',{}", rune(s.src[s.i])) {
				s.i++
			}
			if s.i == start {
				s.bad = true
				return ""
			}
			piece = string(s.src[start:s.i])
		}
		pieces = append(pieces, piece)
		s.skipBlank(false)
		if s.peek() != '.' {
			return strings.Join(pieces, ".")
		}
		s.i++
	}
}

// basicString skips a one-line "..." string, escapes included.
func (s *tscan) basicString() {
	s.i++ // opening quote
	for !s.eof() {
		switch s.src[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return
		case '\n':
			s.bad = true
			return
		default:
			s.i++
		}
	}
	s.bad = true
}

// multiline skips a multi-line string, delim being its triple quote;
// escapes only in the basic kind. Up to two extra quotes before the
// closing delimiter belong to the content.
func (s *tscan) multiline(delim string) {
	s.i += 3
	for !s.eof() {
		c := s.src[s.i]
		switch {
		case c == '\\' && delim == `"""`:
			if s.i+1 < len(s.src) && s.src[s.i+1] == '\n' {
				s.line++
			}
			s.i += 2
		case c == '\n':
			s.line++
			s.i++
		case s.has(delim):
			s.i += 3
			for n := 0; n < 2 && s.peek() == delim[0]; n++ {
				s.i++
			}
			return
		default:
			s.i++
		}
	}
	s.bad = true
}

// value skips one value, recording the elements of arrays and the keys of
// inline tables under path.
func (s *tscan) value(path string, depth int) {
	if depth > maxDepth {
		s.bad = true
		return
	}
	switch {
	case s.eof():
		s.bad = true
	case s.has(`"""`):
		s.multiline(`"""`)
	case s.has(`'''`):
		s.multiline(`'''`)
	case s.peek() == '"':
		s.basicString()
	case s.peek() == '\'':
		s.i++
		for !s.eof() && s.src[s.i] != '\'' && s.src[s.i] != '\n' {
			s.i++
		}
		if s.peek() != '\'' {
			s.bad = true
			return
		}
		s.i++
	case s.peek() == '[':
		s.i++
		for n := 0; ; n++ {
			s.skipBlank(true)
			if s.peek() == ']' {
				s.i++
				return
			}
			el := fmt.Sprintf("%s[%d]", path, n)
			s.record(el, span{line: s.line})
			s.value(el, depth+1)
			s.skipBlank(true)
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return
			default:
				s.bad = true
				return
			}
		}
	case s.peek() == '{':
		s.i++
		for {
			s.skipBlank(true)
			if s.peek() == '}' {
				s.i++
				return
			}
			line := s.line
			k := join(path, s.key())
			s.skipBlank(false)
			if s.peek() != '=' {
				s.bad = true
				return
			}
			s.i++
			s.skipBlank(false)
			s.prefixes(k, line)
			s.value(k, depth+1)
			s.skipBlank(true)
			switch s.peek() {
			case ',':
				s.i++
			case '}':
				s.i++
				return
			default:
				s.bad = true
				return
			}
		}
	default: // number, boolean, date: up to the next delimiter
		start := s.i
		for !s.eof() && !strings.ContainsRune(",]}\r\n#", rune(s.src[s.i])) {
			s.i++
		}
		// A date-time may hold a space; trailing blanks before a comment do not
		// belong to the value.
		for s.i > start && (s.src[s.i-1] == ' ' || s.src[s.i-1] == '\t') {
			s.i--
		}
		if s.i == start {
			s.bad = true
		}
	}
}

// indexJSON maps each key of a JSON document to the line it is on, named as
// indexTOML names them. Arrays and objects are followed to maxDepth.
func indexJSON(src []byte) map[string]int {
	nl := []int{}
	for i, c := range src {
		if c == '\n' {
			nl = append(nl, i)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	idx := map[string]int{}
	// line of the last token read: tokens never span lines, so its end is on
	// its line.
	line := func() int { return sort.SearchInts(nl, int(dec.InputOffset())) + 1 }
	var walk func(path string, depth int) bool
	walk = func(path string, depth int) bool {
		tok, err := dec.Token()
		if err != nil || depth > maxDepth {
			return false
		}
		if _, ok := idx[path]; !ok && path != "" {
			idx[path] = line()
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				ks, ok := k.(string)
				if err != nil || !ok {
					return false
				}
				kp := join(path, ks)
				if _, seen := idx[kp]; !seen {
					idx[kp] = line()
				}
				if !walk(kp, depth+1) {
					return false
				}
			}
			_, err = dec.Token()
			return err == nil
		case json.Delim('['):
			for n := 0; dec.More(); n++ {
				if !walk(fmt.Sprintf("%s[%d]", path, n), depth+1) {
					return false
				}
			}
			_, err = dec.Token()
			return err == nil
		}
		return true
	}
	walk("", 0)
	return idx
}
