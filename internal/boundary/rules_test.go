package boundary

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/reentry"
)

// mem is a Memory of NUL-terminated strings at addresses 1, 2, ...; an
// address past them is unreadable.
type mem []string

var errUnreadable = errors.New("unreadable")

func (m mem) CString(addr uint64, max int) ([]byte, bool, error) {
	if addr == 0 {
		return nil, false, ErrNull
	}
	if addr > uint64(len(m)) {
		return nil, false, errUnreadable
	}
	s := m[addr-1] + "\x00"
	if i := strings.IndexByte(s, 0); i < max {
		return []byte(s[:i]), true, nil
	}
	return []byte(s[:max-1]), false, nil
}

func TestZapLevel(t *testing.T) {
	for lvl, want := range map[uint8]zapcore.Level{0: zapcore.DebugLevel, 1: zapcore.DebugLevel, 2: zapcore.InfoLevel,
		3: zapcore.WarnLevel, 4: zapcore.ErrorLevel, 5: zapcore.WarnLevel, 255: zapcore.WarnLevel} {
		if got := ZapLevel(lvl); got != want {
			t.Errorf("ZapLevel(%d) = %v, want %v", lvl, got, want)
		}
	}
}

func TestIsJSONObject(t *testing.T) {
	for s, want := range map[string]bool{`{}`: true, ` {"a":1} `: true, "\n{\"a\":{}}": true, `[]`: false,
		`"s"`: false, `1`: false, `{`: false, `{} {}`: false, ``: false, `null`: false} {
		if got := isJSONObject([]byte(s)); got != want {
			t.Errorf("isJSONObject(%q) = %v, want %v", s, got, want)
		}
	}
}

// The bound is MaxLogMessage bytes of text: exactly that is whole, one
// more is cut and marked truncated.
func TestLogBound(t *testing.T) {
	for _, tc := range []struct {
		text      string
		want      int
		truncated bool
	}{
		{strings.Repeat("a", MaxLogMessage), MaxLogMessage, false},
		{strings.Repeat("a", MaxLogMessage+1), MaxLogMessage, true},
		{"a" + strings.Repeat("é", MaxLogMessage/2), MaxLogMessage - 1, true}, // the cut falls mid-rune
	} {
		core, logs := observer.New(zapcore.DebugLevel)
		var c Counters
		Log(&c, zap.New(core), mem{tc.text}, 2, 1)
		all := logs.All()
		if len(all) != 1 {
			t.Fatalf("%d lines, want 1", len(all))
		}
		if len(all[0].Message) != tc.want {
			t.Errorf("%d bytes of text: logged %d, want %d", len(tc.text), len(all[0].Message), tc.want)
		}
		if got := all[0].ContextMap()["truncated"] == true; got != tc.truncated {
			t.Errorf("%d bytes of text: truncated %v, want %v", len(tc.text), got, tc.truncated)
		}
	}
}

func TestLogRefusals(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	var c Counters
	Log(&c, zap.New(core), mem{}, 1, 0) // debug: dropped before msg is read
	if logs.Len() != 0 {
		t.Fatalf("a line dropped by level was read: %v", logs.All())
	}
	Log(&c, zap.New(core), mem{}, 300, 0) // an i32 level above 255: unknown, warn
	Log(&c, zap.New(core), mem{}, 2, 9)
	Log(&c, zap.New(core), mem{"\xff"}, 2, 1)
	want := []string{"plugin called log with a NULL message", "plugin called log with a bad message pointer", "\uFFFD"}
	for i, e := range logs.All() {
		if i >= len(want) || e.Message != want[i] {
			t.Errorf("line %d %q, want %q", i, e.Message, want)
		}
	}
	if got := c.Snapshot(); got != (clawd.Stats{InvalidArgs: 3}) {
		t.Errorf("stats %+v, want 3 invalid", got)
	}
}

func TestReadEvent(t *testing.T) {
	long := strings.Repeat("m", MaxMethod-1)
	params := `{"k":"` + strings.Repeat("v", MaxParams-1-len(`{"k":""}`)) + `"}`
	m := mem{"x.ok", `{"a":1}`, "", "[1]", "\xff", long, long + "m", params, params + " ", `{"a":"\xff"}`}
	for _, tc := range []struct {
		name           string
		relay          bool
		method, params uint64
		want           abi.Code
		invalid        uint64
	}{
		{"accepted", true, 1, 2, abi.None, 0},
		{"no relay", false, 1, 2, abi.CapabilityDenied, 0},
		{"NULL method", true, 0, 2, abi.DaemonError, 1},
		{"empty method", true, 3, 2, abi.DaemonError, 1},
		{"method not UTF-8", true, 5, 2, abi.DaemonError, 1},
		{"method at MaxMethod", true, 6, 2, abi.None, 0},
		{"method one over", true, 7, 2, abi.DaemonError, 1},
		{"NULL params", true, 1, 0, abi.DaemonError, 1},
		{"params not an object", true, 1, 4, abi.DaemonError, 1},
		{"params not UTF-8", true, 1, 10, abi.DaemonError, 1},
		{"params at MaxParams", true, 1, 8, abi.None, 0},
		{"params one over", true, 1, 9, abi.DaemonError, 1},
		{"unreadable params", true, 1, 99, abi.DaemonError, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Counters
			_, _, code := ReadEvent(&c, zap.NewNop(), tc.relay, m, tc.method, tc.params)
			if code != tc.want || c.Invalid.Load() != tc.invalid {
				t.Errorf("code %v, invalid %d; want %v, %d", code, c.Invalid.Load(), tc.want, tc.invalid)
			}
		})
	}
}

func TestStaleEvent(t *testing.T) {
	var c Counters
	m := mem{"hook.block", "x.y"}
	if got := StaleEvent(&c, m, 1); got != abi.NotFound {
		t.Errorf("a stale verdict: %v, want NotFound", got)
	}
	if got := StaleEvent(&c, m, 2); got != abi.DaemonError {
		t.Errorf("a stale event: %v, want DaemonError", got)
	}
	if got := c.Snapshot(); got != (clawd.Stats{StaleEvents: 2, HookRefused: 1}) {
		t.Errorf("stats %+v", got)
	}
}

func TestDeliver(t *testing.T) {
	var c Counters
	owner := &reentry.Owner{Name: "p"}
	ev := clawd.Event{Method: "x.y"}
	if got := Deliver(context.Background(), &c, zap.NewNop(), nil, owner, ev); got != abi.DaemonError {
		t.Errorf("no sink: %v, want DaemonError", got)
	}
	panics := clawd.SinkFunc(func(context.Context, clawd.Event) error { panic("sink") })
	if got := Deliver(context.Background(), &c, zap.NewNop(), panics, owner, ev); got != abi.DaemonError {
		t.Errorf("a panicking sink: %v, want DaemonError", got)
	}
	refuses := clawd.SinkFunc(func(context.Context, clawd.Event) error { return abi.NotFound })
	if got := Deliver(context.Background(), &c, zap.NewNop(), refuses, owner, ev); got != abi.NotFound {
		t.Errorf("a refusing sink: %v, want NotFound", got)
	}
	if got := c.Snapshot(); got != (clawd.Stats{Panics: 1}) {
		t.Errorf("stats %+v, want 1 panic", got)
	}
}

func TestFrame(t *testing.T) {
	f := Frame{Method: []byte("x.y\x00z"), Params: []byte("{}")}
	for _, tc := range []struct {
		addr       uint64
		max        int
		want       string
		terminated bool
		err        error
	}{
		{FrameMethod, MaxMethod, "x.y", true, nil},
		{FrameParams, 3, "{}", true, nil},
		{FrameParams, 2, "{", false, nil},
		{0, MaxMethod, "", false, ErrNull},
	} {
		b, term, err := f.CString(tc.addr, tc.max)
		if string(b) != tc.want || term != tc.terminated || !errors.Is(err, tc.err) {
			t.Errorf("CString(%d, %d) = %q, %v, %v; want %q, %v, %v", tc.addr, tc.max, b, term, err, tc.want, tc.terminated, tc.err)
		}
	}
}
