package clawd

import (
	"encoding/json"
	"strings"
	"testing"
)

// validJSON and json.Valid agree on every input: the hot path's check is
// encoding/json's, only faster.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{
		``, ` `, `{}`, `[]`, `{"a":1}`, `{"a":[1,2,{"b":null}]}`, `"x"`, `0`, `-0`, `-0.5e+10`, `1E5`,
		`01`, `1.`, `.5`, `-`, `1e`, `+1`, `NaN`, `true`, `tru`, `truex`, `nul`, `false `,
		`{"a":1,}`, `[1,]`, `{,}`, `{"a"}`, `{"a":}`, `{"a" : 1 , "b":2}`, `[1 2]`, `{}{}`, `[}`, `{]`,
		"\"tab\there\"", `"\u00e9\n\/\\\""`, `"\u12G4"`, `"\x"`, "\"\xff\xfe\"", "\"a\x00\"",
		"\t\n\r {}\r\n", `[[[[[]]]]]`, `[[[[[]]]]`, `{"a":{"b":{"c":[]}}}`, `"unterminated`, `"\`,
		`{"pattern":"func (p \\*Plugin)","path":"./loader","max_results":25000,"case":false,"glob":"*.go"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validJSON(s), json.Valid([]byte(s)); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", s, got, want)
		}
	})
}

// The depth limit is encoding/json's: 10000 levels pass, 10001 do not,
// on either side of the depth validJSON tracks itself.
func TestValidJSONDepth(t *testing.T) {
	for _, n := range []int{shallow - 1, shallow, shallow + 1, maxJSONDepth - 1, maxJSONDepth, maxJSONDepth + 1} {
		for _, open := range []string{"[", `{"a":`} {
			close := "]"
			if open != "[" {
				close = "}"
			}
			s := strings.Repeat(open, n) + "0" + strings.Repeat(close, n)
			if got, want := validJSON(s), json.Valid([]byte(s)); got != want || got != (n <= maxJSONDepth) {
				t.Errorf("%d levels of %s: validJSON %v, json.Valid %v", n, open, got, want)
			}
			if bad := s[:len(s)-1]; validJSON(bad) || json.Valid([]byte(bad)) {
				t.Errorf("%d levels of %s, one left open: valid", n, open)
			}
		}
	}
}
