package clawctx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/foreign"
	"github.com/clawd-go/clawd/internal/outcome"
	"github.com/clawd-go/clawd/internal/reentry"
)

// The trampolines' addresses, set once per process by the build's glue
// (cgo //export functions, or purego callbacks).
var logFn, sendEventFn uintptr

// Trampolines returns the addresses of log and send_event that every
// context carries: the same two for the life of the process.
func Trampolines() [2]uintptr { return [2]uintptr{logFn, sendEventFn} }

var invalidContexts atomic.Uint64

// InvalidContexts counts log and send_event calls whose context was NULL or
// not one the host made; they cannot be attributed to any plugin.
func InvalidContexts() uint64 { return invalidContexts.Load() }

// ZapLevel maps a plugin's log level to zap's: 0 and 1 Debug, 2 Info, 3 Warn,
// 4 Error, anything else Warn. Never above Error: zap's DPanic, Panic and
// Fatal would panic or exit the host.
func ZapLevel(l uint8) zapcore.Level {
	switch abi.LogLevel(l) {
	case abi.LogTrace, abi.LogDebug:
		return zapcore.DebugLevel
	case abi.LogInfo:
		return zapcore.InfoLevel
	case abi.LogWarn:
		return zapcore.WarnLevel
	case abi.LogError:
		return zapcore.ErrorLevel
	}
	return zapcore.WarnLevel
}

// hostLog is ClawaContext.log. It must not panic: it may run on a plugin's
// own thread, where a Go panic ends the process.
func hostLog(ctxAddr uintptr, level uint8, msg uintptr) {
	ch, _, live, ok := resolve(ctxAddr)
	if !ok {
		invalidContexts.Add(1)
		return
	}
	b := ch.b
	if !live {
		b.staleLogs.Add(1)
		return
	}
	defer func() {
		if r := recover(); r != nil {
			b.panics.Add(1)
		}
	}()
	lvl := ZapLevel(level)
	if !b.log.Core().Enabled(lvl) {
		return // dropped by level: no string is read
	}
	if msg == 0 {
		b.invalid.Add(1)
		b.log.Warn("plugin called log with a NULL message", zap.Uint8("level", level))
		return
	}
	n := foreign.Strlen(msg, MaxLogMessage)
	truncated := n < 0
	if truncated {
		n = MaxLogMessage
	}
	if !WriteLog(b.log, lvl, level, foreign.Bytes(msg, n), truncated) {
		b.invalid.Add(1)
	}
}

// WriteLog writes one plugin log line, the same for every runtime: raw is
// the message as the plugin wrote it (cut at MaxLogMessage when truncated,
// which then cuts it again at a character boundary), copied, made valid
// UTF-8; lvl is ZapLevel of the plugin's level, which becomes a field when
// ABI v1 does not define it. It reports whether raw was valid UTF-8.
func WriteLog(log *zap.Logger, lvl zapcore.Level, level uint8, raw []byte, truncated bool) (valid bool) {
	if truncated {
		for i := 0; i < utf8.UTFMax-1 && len(raw) > 0; i++ {
			if r, size := utf8.DecodeLastRune(raw); r != utf8.RuneError || size > 1 {
				break
			}
			raw = raw[:len(raw)-1]
		}
	}
	var text string
	valid = utf8.Valid(raw)
	if valid {
		text = string(raw) // copied: the plugin owns its memory
	} else {
		text = strings.ToValidUTF8(string(raw), "\uFFFD")
	}
	ce := log.Check(lvl, text)
	if ce == nil {
		return valid
	}
	switch {
	case abi.LogLevel(level) > abi.LogError:
		ce.Write(zap.Uint8("level", level))
	case truncated:
		ce.Write(zap.Bool("truncated", true))
	case !valid:
		ce.Write(zap.Bool("invalid_utf8", true))
	default:
		ce.Write()
	}
	return valid
}

// hostSendEvent is ClawaContext.send_event. Every path returns a code the
// plugin sees; none panics.
// callerUnknown: the build cannot tell the calling thread cheaply; compare
// the thread Begin noted (noteCaller).
const callerUnknown = -1

// onCaller is 1 when send_event runs on the thread of the call that owns
// the context, 0 on another, callerUnknown to be found out here. Only the
// calling thread gets the call's context.Context: it was written there, so
// reading it races with nothing; a plugin's own thread gets Background.
func hostSendEvent(ctxAddr, method, params uintptr, onCaller int8) (code int32) {
	ch, i, live, ok := resolve(ctxAddr)
	if !ok {
		invalidContexts.Add(1)
		return int32(abi.DaemonError)
	}
	b := ch.b
	hooked := isHookMethod(method) // hook.*: the host's, never the sink's (hook.go)
	if !live {
		b.staleEvents.Add(1)
		if hooked { // a verdict after its call returned: stale, refused, never a later call's
			b.hookRefused.Add(1)
			return int32(abi.NotFound)
		}
		return int32(abi.DaemonError)
	}
	defer func() {
		if r := recover(); r != nil {
			b.panics.Add(1)
			b.refused.Add(1)
			code = int32(abi.DaemonError)
		}
	}()
	ctx := context.Background()
	caller := onCaller == 1 || (onCaller == callerUnknown && ch.isCaller(i))
	if caller {
		ctx = ch.callCtx(i)
	}
	if hooked {
		return int32(b.hookEvent(ctx, ch, i, method, params))
	}
	if caller { // the sink may call back into the plugin: that call is then the one in flight
		f := ch.hook[i%chunkLen].Load()
		f.Away()
		defer f.Back()
	}
	c := b.sendEvent(ctx, method, params)
	if c == abi.None {
		b.sent.Add(1)
	} else {
		b.refused.Add(1)
	}
	return int32(c)
}

func (b *Binding) sendEvent(ctx context.Context, method, params uintptr) abi.Code {
	if !b.relay {
		return abi.CapabilityDenied
	}
	m, err := foreign.String(method, MaxMethod)
	if err == nil {
		err = MethodError(m)
	}
	if err != nil {
		return b.badArg("method", err)
	}
	p, err := foreign.String(params, MaxParams)
	if err == nil {
		err = ParamsError(p)
	}
	if err != nil {
		return b.badArg("params_json", err)
	}
	if b.sink == nil {
		b.log.Warn("send_event refused: the host has no event sink", zap.String("method", m))
		return abi.DaemonError
	}
	f, err := reentry.Enter(b.owner)
	if err != nil {
		b.deep.Add(1)
		b.log.Warn("send_event refused: calls nested too deep", zap.String("method", m), zap.Int("max_depth", MaxDepth))
		return abi.DaemonError
	}
	defer f.Leave()
	return outcome.SinkCode(b.sink.Deliver(ctx, clawd.Event{Plugin: b.name, Version: b.version, Method: m, Params: json.RawMessage(p)}))
}

func (b *Binding) badArg(what string, err error) abi.Code {
	b.invalid.Add(1)
	b.log.Warn("send_event refused: invalid "+what, zap.Error(err))
	return abi.DaemonError
}

// MethodError says what is wrong with a send_event method as the host has
// it (read, without its NUL), or nil: the in-process trampoline reads it
// from plugin memory first (a missing NUL, a fault), the process sandbox
// gets it in a frame. The refusal lines of both say the same.
func MethodError[T string | []byte](m T) error {
	switch {
	case len(m) == 0:
		return errEmpty
	case len(m) >= MaxMethod:
		return foreign.ErrUnterminated
	case !utf8.Valid([]byte(m)):
		return foreign.ErrNotUTF8
	}
	return nil
}

// ParamsError is MethodError for send_event's params_json.
func ParamsError[T string | []byte](p T) error {
	switch {
	case len(p) >= MaxParams:
		return foreign.ErrUnterminated
	case !IsJSONObject(p):
		return errNotObject
	}
	return nil
}

var (
	errEmpty     = errors.New("empty")
	errNotObject = errors.New("not a JSON object")
)

// IsJSONObject reports whether s is one valid JSON value that is an object.
func IsJSONObject[T string | []byte](s T) bool {
	t := bytes.TrimLeft([]byte(s), " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(t)
}
