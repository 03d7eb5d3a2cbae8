package hook_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/hook"
)

// FuzzTake feeds a plugin's hook payloads to a frame: whatever the bytes,
// Take never panics, answers None, NotFound or DaemonError (invalid, with
// a reason), and a verdict it takes keeps the rules: a Block's reason is
// bounded valid UTF-8, an Intercept's input a compact JSON object, its
// content compact JSON other than null. Run longer with
//
//	go test -run '^$' -fuzz '^FuzzTake$' -fuzztime 60s ./internal/hook
func FuzzTake(f *testing.F) {
	for _, s := range []struct {
		sel    uint8
		params string
	}{
		{0, `{"reason":"no"}`},
		{0, `{"reason":"a","reason":"b"}`},
		{0, `{"reason":5}`},
		{0, ` {"reason":"\ud800"}`},
		{1, `{"input":{"a":1}}`},
		{1, `{"input":{"a":1,"a":2}}`},
		{1, `{"input":[1]}`},
		{2, `{"content":"x"}`},
		{2, `{"content":null}`},
		{2, `{"content":[{"t":1},{"t":1}]}`},
		{3, `{}`},
		{1, `{"input":{"a":{"b":{"c":[[[{"d":1,"e":{"d":1}}]]]}}}}`},
		{0, `[`},
	} {
		f.Add(s.sel, []byte(s.params))
	}
	methods := []string{hook.MethodBlock, hook.MethodIntercept, hook.MethodIntercept, "hook.other"}
	f.Fuzz(func(t *testing.T, sel uint8, params []byte) {
		op := clawd.OpToolCall
		if sel&2 != 0 {
			op = clawd.OpMessage
		}
		method := methods[int(sel)%len(methods)]
		fr := hook.NewFrame(op, true, 0)
		code, invalid, err := fr.Take(method, params, 0)
		switch code {
		case abi.None:
			if invalid || err != nil {
				t.Fatalf("taken, yet invalid %v: %v", invalid, err)
			}
		case abi.NotFound:
			if method != "hook.other" {
				t.Fatalf("NotFound for %s", method)
			}
			return
		case abi.DaemonError:
			if !invalid || err == nil {
				t.Fatalf("refused without a reason: %v %v", invalid, err)
			}
			if fr.Verdict() != (clawd.Verdict{}) {
				t.Fatalf("an invalid payload left a verdict: %+v", fr.Verdict())
			}
			return
		default:
			t.Fatalf("code %v", code)
		}
		v := fr.Verdict()
		switch v.Kind {
		case clawd.Block:
			if len(v.Reason) > hook.MaxReason || !utf8.ValidString(v.Reason) {
				t.Fatalf("reason %q", v.Reason)
			}
		case clawd.Intercept:
			s := v.Input
			if op == clawd.OpMessage {
				s = v.Content
				if s == "null" {
					t.Fatal("content null taken")
				}
			} else if !strings.HasPrefix(s, "{") {
				t.Fatalf("input %q is not an object", s)
			}
			if !json.Valid([]byte(s)) {
				t.Fatalf("verdict %q is not valid JSON", s)
			}
		default:
			t.Fatalf("taken, yet %v", v.Kind)
		}
	})
}
