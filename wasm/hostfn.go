package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"
	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/clawctx"
	"github.com/clawd-go/clawd/internal/hook"
	"github.com/clawd-go/clawd/internal/outcome"
	"github.com/clawd-go/clawd/internal/reentry"
)

// hostLog is the guest's ClawaContext.log: (ctx, level, msg).
func (p *Plugin) hostLog(_ context.Context, mod api.Module, stack []uint64) {
	ctxAddr, level, msg := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	if s := p.slotOf(mod); s == nil || !s.live(ctxAddr) {
		p.staleLogs.Add(1)
		return
	}
	// A uint8_t argument arrives as an i32; a hostile guest may set the
	// high bits: such a level is unknown, logged at warn like any other.
	lv := uint8(255)
	if level <= 255 {
		lv = uint8(level)
	}
	zl := clawctx.ZapLevel(lv)
	if !p.log.Core().Enabled(zl) {
		return
	}
	if msg == 0 {
		p.invalid.Add(1)
		p.log.Warn("plugin called log with a NULL message", zap.Uint32("level", level))
		return
	}
	// MaxLogMessage bytes of text before the NUL, as in process (cBytes
	// keeps bound-1).
	raw, truncated, err := cBytes(mod.Memory(), msg, clawctx.MaxLogMessage+1)
	if err != nil {
		p.invalid.Add(1)
		p.log.Warn("plugin called log with a bad message pointer", zap.Uint32("msg", msg), zap.Error(err))
		return
	}
	if !clawctx.WriteLog(p.log, zl, lv, raw, truncated) {
		p.invalid.Add(1)
	}
}

// hostSendEvent is the guest's ClawaContext.send_event: (ctx, method,
// params_json) -> ClawaError.
func (p *Plugin) hostSendEvent(ctx context.Context, mod api.Module, stack []uint64) {
	ctxAddr, method, params := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	s := p.slotOf(mod)
	if s == nil || !s.live(ctxAddr) {
		p.staleEvents.Add(1)
		stack[0] = uint64(abi.DaemonError)
		if m, err := cString(mod.Memory(), method, clawctx.MaxMethod); err == nil && hook.Reserved(m) {
			// A verdict on a context whose call returned: stale, refused
			// as in the other runtimes, never a later call's.
			p.hookRefused.Add(1)
			stack[0] = uint64(abi.NotFound)
		}
		return
	}
	if c, ok := p.hookEvent(s, mod.Memory(), ctxAddr, method, params); ok {
		stack[0] = uint64(uint32(c))
		return
	}
	c := p.sendEvent(ctx, s, mod.Memory(), method, params)
	if c == abi.None {
		p.sent.Add(1)
	} else {
		p.refused.Add(1)
	}
	stack[0] = uint64(uint32(c))
}

var (
	errEmpty     = errors.New("empty")
	errNotObject = errors.New("not a JSON object")
)

func (p *Plugin) sendEvent(ctx context.Context, s *slot, mem api.Memory, method, params uint32) abi.Code {
	if !p.relay {
		return abi.CapabilityDenied
	}
	m, err := cString(mem, method, clawctx.MaxMethod)
	if err == nil && m == "" {
		err = errEmpty
	}
	if err != nil {
		return p.badArg("method", err)
	}
	raw, truncated, err := cBytes(mem, params, clawctx.MaxParams)
	if err == nil && truncated {
		err = errNoNUL
	}
	if err == nil && !utf8.Valid(raw) {
		err = errUTF8
	}
	if err == nil && !clawctx.IsJSONObject(raw) {
		err = errNotObject
	}
	if err != nil {
		return p.badArg("params_json", err)
	}
	if p.cfg.Sink == nil {
		p.log.Warn("send_event refused: the host has no event sink", zap.String("method", m))
		return abi.DaemonError
	}
	// The sink may call back into this plugin: the re-entry record is per
	// OS thread, so the goroutine stays on its thread until the sink returns.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f, err := reentry.Enter(s.owner)
	if err != nil {
		p.deep.Add(1)
		p.log.Warn("send_event refused: calls nested too deep", zap.String("method", m), zap.Int("max_depth", reentry.MaxDepth))
		return abi.DaemonError
	}
	defer f.Leave()
	ev := clawd.Event{Plugin: p.id.Name, Version: p.id.Version, Method: m, Params: json.RawMessage(append([]byte(nil), raw...))}
	return outcome.Deliver(ctx, p.cfg.Sink, ev, func(r any) {
		p.panics.Add(1)
		p.log.Error("event sink panicked", zap.Any("panic", r), zap.String("method", m))
	})
}

func (p *Plugin) badArg(what string, err error) abi.Code {
	p.invalid.Add(1)
	p.log.Warn("send_event refused: invalid "+what, zap.Error(err))
	return abi.DaemonError
}

// lineLog makes the guest's stdout or stderr lines of the plugin's log
// (info for stdout, warn for stderr, field stream), never the host's own
// output. A line longer than MaxLogMessage is cut there.
type lineLog struct {
	p      *Plugin
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
			room := clawctx.MaxLogMessage - len(l.buf)
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
	if len(line) > clawctx.MaxLogMessage {
		line = line[:clawctx.MaxLogMessage]
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

// hookEvent answers a hook.* event (ok true), which never reaches the sink
// and needs no network.relay: a verdict for the Hook call whose context
// ctxAddr is, NotFound anywhere else (internal/hook).
func (p *Plugin) hookEvent(s *slot, mem api.Memory, ctxAddr, method, params uint32) (abi.Code, bool) {
	m, err := cString(mem, method, clawctx.MaxMethod)
	if err != nil || !hook.Reserved(m) {
		return 0, false // not a hook event: sendEvent judges it
	}
	// Only the Hook call in flight takes a verdict: its context, and no
	// call nested below it (a sink's call back into the guest) running.
	var f *hook.Frame
	if s.hookFrame != nil && s.active[s.hookDepth] == ctxAddr && s.hookDepth == s.depth-1 {
		f = s.hookFrame
	}
	raw, truncated, err := cBytes(mem, params, hook.MaxPayload+1)
	if err != nil || truncated {
		p.hookInvalid.Add(1)
		p.invalid.Add(1)
		return abi.DaemonError, true
	}
	code, invalid, err := f.Take(m, raw, 0)
	switch {
	case invalid:
		p.hookInvalid.Add(1)
		p.invalid.Add(1)
		p.log.Warn("hook event refused: invalid payload", zap.String("method", m), zap.Error(err))
	case code == abi.None:
		p.hookTaken.Add(1)
	default:
		p.hookRefused.Add(1)
	}
	return code, true
}
