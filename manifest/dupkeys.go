package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/clawd-go/clawd/clawerr"
)

// dupKey is a key that appears twice in one JSON object: decoders keep
// the first or the last, so the two readings of one manifest differ.
type dupKey struct {
	field        string // its path, as indexJSON names it
	first, again int    // the byte offsets of both occurrences
}

// findDupJSON returns the first key repeated within one object of src, at
// any depth, or nil. src is a valid JSON document (json.Unmarshal took
// it), so its nesting is bounded by the decoder's own limit; the key sets
// together hold at most every key of src once.
func findDupJSON(src []byte) *dupKey {
	type frame struct {
		obj     bool
		wantKey bool           // object: the next token is a key
		path    string         // the container's own path
		cur     string         // object: the path of the member being read
		n       int            // array: the next element's index
		keys    map[string]int // object: key -> offset of its first occurrence
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	var stack []*frame
	for {
		before := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nil // the end (or nothing json.Unmarshal would take)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k, _ := tok.(string)
			at := keyStart(src, before)
			top.cur = join(top.path, k)
			if first, seen := top.keys[k]; seen {
				return &dupKey{field: top.cur, first: first, again: at}
			}
			top.keys[k] = at
			top.wantKey = false
			continue
		}
		if d, ok := tok.(json.Delim); ok && (d == ']' || d == '}') {
			stack = stack[:len(stack)-1]
			continue
		}
		// A value: of the member in flight, of an array, or the document.
		path := ""
		switch {
		case top == nil:
		case top.obj:
			path, top.wantKey = top.cur, true
		default:
			path = fmt.Sprintf("%s[%d]", top.path, top.n)
			top.n++
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, wantKey: true, path: path, keys: map[string]int{}})
		case json.Delim('['):
			stack = append(stack, &frame{path: path})
		}
	}
}

// keyStart is the offset of the key that follows off: past the blanks and
// the comma the decoder had not consumed yet.
func keyStart(src []byte, off int) int {
	for off < len(src) && (src[off] == ' ' || src[off] == '\t' || src[off] == '\r' || src[off] == '\n' || src[off] == ',') {
		off++
	}
	return off
}

// lineCol is the 1-based line and column (in characters) of byte offset
// off of src.
func lineCol(src []byte, off int) (line, col int) {
	off = min(max(off, 0), len(src))
	start := bytes.LastIndexByte(src[:off], '\n') + 1
	return lineAt(src, off), utf8.RuneCount(src[start:off]) + 1
}

// dupError is the manifest_invalid error of a repeated key, at the second
// occurrence, naming the first.
func (c *checker) dupError(src []byte, d *dupKey) error {
	l, col := lineCol(src, d.again)
	fl, fcol := lineCol(src, d.first)
	return clawerr.New(clawerr.ManifestInvalid, c.plugin, "manifest",
		fmt.Sprintf("%s:%d:%d: %s: key repeated (first at %d:%d); give each key once (decoders differ on which one counts)",
			c.file, l, col, d.field, fl, fcol), nil)
}
