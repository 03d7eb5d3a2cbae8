package isolate

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/hook"
	"github.com/clawd-go/clawd/internal/outcome"
	"github.com/clawd-go/clawd/internal/reentry"
)

// fuzzToken is the call token of the call the fuzzed stream answers.
const fuzzToken = 0x5eed1234

// fuzzFrame appends a frame of kind k with body to dst.
func fuzzFrame(dst []byte, k kind, body []byte) []byte { return appendFrame(dst, k, 0, body) }

// FuzzFrame feeds a sandbox child's side of the channels to the host's
// frame reader and judges, as the child (the plugin) may write them:
// whatever the bytes, nothing panics, the reader's buffer stays bounded by
// the largest frame allowed, and every refusal is a protocol violation or
// the end of the stream, never an error the host passes on as the
// plugin's. Run longer with
//
//	go test -run '^$' -fuzz '^FuzzFrame$' -fuzztime 60s ./isolate
func FuzzFrame(f *testing.F) {
	tok := binary.LittleEndian.AppendUint32(nil, fuzzToken)
	ok := append([]byte{stOK, 0, 0, 0, 0, 0, 0, 0}, tok...)
	refusal := append(appendStrings([]byte{stError, 0, 0, 0, 0, 0, 0, 0}, "invalid_argument", "bad", ""), tok...)
	event := func(seq uint32, method, params string) []byte {
		b := binary.LittleEndian.AppendUint32(nil, seq)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(method)))
		return append(append(b, method...), params...)
	}
	for _, s := range [][]byte{
		fuzzFrame(nil, kResult, ok),
		fuzzFrame(nil, kResult, refusal),
		fuzzFrame(nil, kResult, []byte{stCallback, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3, 4}),
		fuzzFrame(fuzzFrame(nil, kLog, []byte{2, 0, 0, 0, 'h', 'i'}), kResult, ok),
		fuzzFrame(fuzzFrame(nil, kEvent, event(fuzzToken, "hook.block", `{"reason":"r"}`)), kResult, ok),
		fuzzFrame(fuzzFrame(nil, kEvent, event(0, "hook.block", `{"reason":"stale"}`)), kResult, ok),
		fuzzFrame(nil, kEvent, event(fuzzToken, "hook.intercept", `{"input":{"a":1,"a":2}}`)),
		fuzzFrame(nil, kEvent, event(fuzzToken, "x.y", `{"k":1}`)),
		fuzzFrame(nil, kEvent, event(fuzzToken, "x.y", `{"k":1}`)[:6]),
		fuzzFrame(nil, kIdent, appendStrings(nil, "name", "1.0")),
		fuzzFrame(nil, kHello, []byte(`{"name":"x","callbacks":7}`)),
		fuzzFrame(nil, kStatsReply, []byte(`{"events_sent":1}`)),
		fuzzFrame(nil, kWake, nil),
		{0xff, 0xff, 0xff, 0xff, byte(kLog), 0, 0, 0},
		{8, 0, 0, 0, byte(kResult), 0, 0},
	} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, stream []byte, relay bool) {
		var opts []clawd.Option
		if relay {
			opts = append(opts, clawd.WithCapabilities(abi.CapNetworkRelay))
		}
		opts = append(opts, clawd.WithEventSink(clawd.SinkFunc(func(context.Context, clawd.Event) error { return nil })))
		p := &plugin{o: newOptions(opts), errs: outcome.NewErrors("fuzz"), owner: &reentry.Owner{Name: "fuzz"}}
		p.id.Store(&ident{log: zap.NewNop()})
		p.hook, p.token = hook.NewFrame(clawd.OpToolCall, true, 0), fuzzToken

		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			w.Write(stream)
			w.Close()
			close(done)
		}()
		rd := newReader(r.Fd())
		rd.dead = make(chan struct{}) // the child lives: a wake-up frame is a violation
		for {
			k, _, body, err := rd.next()
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, errProtocol) {
					t.Fatalf("reader: %v", err)
				}
				break
			}
			if err := judge(p, k, body); err != nil && !errors.Is(err, errProtocol) {
				t.Fatalf("kind %d: %v is not a protocol violation", k, err)
			}
		}
		if limit := 2 * (headerSize + maxBody); cap(rd.buf) > limit {
			t.Fatalf("the reader holds %d bytes, more than %d", cap(rd.buf), limit)
		}
		r.Close() // a writer still blocked on a full pipe fails now
		<-done
	})
}

// judge hands one frame to the host's decoder of its kind, as await and
// asyncLoop do.
func judge(p *plugin, k kind, body []byte) error {
	switch k {
	case kResult:
		_, err := p.result(clawd.OpToolCall, fuzzToken, body)
		return err
	case kLog:
		return p.emit(body)
	case kIdent:
		return p.ident(body)
	case kEvent:
		_, err := p.event(context.Background(), nil, body)
		return err
	case kHello:
		var h hello
		_ = json.Unmarshal(body, &h)
	case kOpenFailed:
		var w wireError
		_ = json.Unmarshal(body, &w)
	case kStatsReply:
		var s clawd.Stats
		_ = json.Unmarshal(body, &s)
	case kClosed:
		var c closed
		_ = json.Unmarshal(body, &c)
	default:
		return frameError(k, "unexpected")
	}
	return nil
}
