package wasm

import (
	"context"
	"encoding/json"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero/api"
	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/boundary"
	"github.com/clawd-go/clawd/internal/hook"
)

// hostLog is the guest's ClawaContext.log: (ctx, level, msg). A uint8_t
// level arrives as an i32 whose high bits a hostile guest may set: the
// rule logs such a level as unknown.
func (p *plugin) hostLog(_ context.Context, mod api.Module, stack []uint64) {
	ctxAddr, level, msg := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	if s := p.slotOf(mod); s == nil || !s.live(ctxAddr) {
		p.counts.StaleLogs.Add(1)
		return
	}
	boundary.Log(&p.counts, p.log, linear{mod.Memory()}, level, uint64(msg))
}

// hostSendEvent is the guest's ClawaContext.send_event: (ctx, method,
// params_json) -> ClawaError.
func (p *plugin) hostSendEvent(ctx context.Context, mod api.Module, stack []uint64) {
	ctxAddr, method, params := uint32(stack[0]), uint64(uint32(stack[1])), uint64(uint32(stack[2]))
	mem := linear{mod.Memory()}
	s := p.slotOf(mod)
	if s == nil || !s.live(ctxAddr) {
		stack[0] = uint64(boundary.StaleEvent(&p.counts, mem, method))
		return
	}
	var c abi.Code
	if boundary.IsHook(mem, method) {
		c = p.hookEvent(s, mem, ctxAddr, method, params)
	} else {
		c = p.sendEvent(ctx, s, mem, method, params)
	}
	stack[0] = uint64(uint32(c))
}

func (p *plugin) sendEvent(ctx context.Context, s *slot, mem linear, method, params uint64) abi.Code {
	m, raw, c := boundary.ReadEvent(&p.counts, p.log, p.relay, mem, method, params)
	if c != abi.None {
		return p.counts.Event(c)
	}
	ev := clawd.Event{Plugin: p.id.Name, Version: p.id.Version, Method: m, Params: json.RawMessage(append([]byte(nil), raw...))}
	return p.counts.Event(boundary.Deliver(ctx, &p.counts, p.log, p.cfg.Sink, s.owner, ev))
}

// lineLog makes the guest's stdout or stderr lines of the plugin's log
// (info for stdout, warn for stderr, field stream), never the host's own
// output. A line longer than MaxLogMessage is cut there.
type lineLog struct {
	p      *plugin
	stream string
	mu     sync.Mutex
	buf    []byte
}

func (l *lineLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := strings.IndexByte(string(b), '\n')
		if i < 0 {
			room := boundary.MaxLogMessage - len(l.buf)
			if len(b) < room {
				l.buf = append(l.buf, b...)
				break
			}
			l.buf = append(l.buf, b[:room]...)
			b = b[room:]
			l.emit()
			continue
		}
		l.buf = append(l.buf, b[:i]...)
		b = b[i+1:]
		l.emit()
	}
	return n, nil
}

func (l *lineLog) emit() {
	line := strings.ToValidUTF8(strings.TrimSuffix(string(l.buf), "\r"), "\uFFFD")
	if len(line) > boundary.MaxLogMessage {
		line = line[:boundary.MaxLogMessage]
	}
	l.buf = l.buf[:0]
	if l.stream == "stderr" {
		l.p.log.Warn(line, zap.String("stream", l.stream))
	} else {
		l.p.log.Info(line, zap.String("stream", l.stream))
	}
}

func (l *lineLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit()
	}
}

// hookEvent answers a hook.* event, which never reaches the sink and
// needs no network.relay: a verdict for the Hook call whose context
// ctxAddr is, NotFound anywhere else (internal/hook).
func (p *plugin) hookEvent(s *slot, mem linear, ctxAddr uint32, method, params uint64) abi.Code {
	m, raw, c := boundary.ReadHook(&p.counts, p.log, mem, method, params)
	if c != abi.None {
		return c
	}
	// Only the Hook call in flight takes a verdict: its context, and no
	// call nested below it (a sink's call back into the guest) running.
	var f *hook.Frame
	if s.hookFrame != nil && s.active[s.hookDepth] == ctxAddr && s.hookDepth == s.depth-1 {
		f = s.hookFrame
	}
	return boundary.Verdict(&p.counts, p.log, f, m, raw, 0)
}
