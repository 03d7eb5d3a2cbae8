package boundary

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"unicode/utf8"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/hook"
	"github.com/clawd-go/clawd/internal/outcome"
	"github.com/clawd-go/clawd/internal/reentry"
)

// Bounds on what a plugin may pass through its context.
const (
	// MaxLogMessage is the longest log message, bytes of text before the
	// NUL: a message of exactly this size is logged whole, a longer one is
	// cut here (before a split character) and marked truncated.
	MaxLogMessage = 64 << 10
	MaxMethod     = 256      // send_event method, bytes with its NUL
	MaxParams     = 16 << 20 // send_event params_json, bytes with its NUL
)

// ZapLevel maps a plugin's log level to zap's: 0 and 1 Debug, 2 Info, 3 Warn,
// 4 Error, anything else Warn. Never above Error: zap's DPanic, Panic and
// Fatal would panic or exit the host.
func ZapLevel(l uint8) zapcore.Level {
	switch cabi.LogLevel(l) {
	case cabi.LogTrace, cabi.LogDebug:
		return zapcore.DebugLevel
	case cabi.LogInfo:
		return zapcore.InfoLevel
	case cabi.LogWarn:
		return zapcore.WarnLevel
	case cabi.LogError:
		return zapcore.ErrorLevel
	}
	return zapcore.WarnLevel
}

// Log is ClawaContext.log on a live context, for every runtime: level as
// the plugin passed it (a uint8_t; wider where it arrives as an i32, and
// then unknown above 255), msg read from m. A line the logger drops by its
// level costs no read; a NULL or unreadable message is counted invalid.
func Log[M Memory](c *Counters, log *zap.Logger, m M, level uint32, msg uint64) {
	lv := uint8(255)
	if level <= 255 {
		lv = uint8(level)
	}
	zl := ZapLevel(lv)
	if !log.Core().Enabled(zl) {
		return
	}
	raw, terminated, err := m.CString(msg, MaxLogMessage+1)
	switch {
	case errors.Is(err, ErrNull):
		c.Invalid.Add(1)
		log.Warn("plugin called log with a NULL message", zap.Uint32("level", level))
		return
	case err != nil:
		c.Invalid.Add(1)
		log.Warn("plugin called log with a bad message pointer", zap.Uint64("msg", msg), zap.Error(err))
		return
	}
	if !WriteLog(log, zl, lv, raw, !terminated) {
		c.Invalid.Add(1)
	}
}

// WriteLog writes one plugin log line: raw is the message as the plugin
// wrote it (when truncated, its first MaxLogMessage bytes, cut again here
// at a character boundary), copied and made valid UTF-8; lvl is ZapLevel
// of the plugin's level. It reports whether raw was valid UTF-8.
func WriteLog(log *zap.Logger, lvl zapcore.Level, level uint8, raw []byte, truncated bool) (valid bool) {
	if truncated {
		for i := 0; i < utf8.UTFMax-1 && len(raw) > 0; i++ {
			if r, size := utf8.DecodeLastRune(raw); r != utf8.RuneError || size > 1 {
				break
			}
			raw = raw[:len(raw)-1]
		}
	}
	valid = utf8.Valid(raw)
	ce := log.Check(lvl, validText(raw, valid))
	WriteLine(ce, level, truncated, !valid)
	return valid
}

// validText copies raw (the plugin owns its memory) as valid UTF-8.
func validText(raw []byte, valid bool) string {
	if valid {
		return string(raw)
	}
	return strings.ToValidUTF8(string(raw), "\uFFFD")
}

// WriteLine writes a checked plugin line with the one field that tells
// what was wrong with it: level where ABI v1 does not define it, else
// truncated, else invalid_utf8. A nil ce writes nothing.
func WriteLine(ce *zapcore.CheckedEntry, level uint8, truncated, invalidUTF8 bool) {
	if ce == nil {
		return
	}
	switch {
	case cabi.LogLevel(level) > cabi.LogError:
		ce.Write(zap.Uint8("level", level))
	case truncated:
		ce.Write(zap.Bool("truncated", true))
	case invalidUTF8:
		ce.Write(zap.Bool("invalid_utf8", true))
	default:
		ce.Write()
	}
}

// IsHook reports whether the method at addr is a hook event's (hook.*):
// the host's, never the sink's, and without network.relay.
func IsHook[M Memory](m M, method uint64) bool {
	b, _, err := m.CString(method, MaxMethod)
	return err == nil && hook.Reserved(b)
}

// StaleEvent answers send_event on a context whose call returned: counted,
// DaemonError; a verdict (hook.*) is NotFound and refused, never a later
// call's.
func StaleEvent[M Memory](c *Counters, m M, method uint64) abi.Code {
	c.StaleEvents.Add(1)
	if IsHook(m, method) {
		c.HookRefused.Add(1)
		return abi.NotFound
	}
	return abi.DaemonError
}

var (
	errEmpty     = errors.New("empty")
	errNotObject = errors.New("not a JSON object")
)

// ReadEvent judges a send_event on a live context that is no hook event:
// network.relay granted (else CapabilityDenied), a method of non-empty
// UTF-8 within MaxMethod, params_json a JSON object within MaxParams
// (else DaemonError, counted invalid, with a line saying which). It
// returns the method (copied) and the params (a view of m), or the code
// of the refusal, which the caller counts with Counters.Event.
func ReadEvent[M Memory](c *Counters, log *zap.Logger, relay bool, m M, method, params uint64) (string, []byte, abi.Code) {
	if !relay {
		return "", nil, abi.CapabilityDenied
	}
	mb, err := stringView(m, method, MaxMethod)
	if err == nil && len(mb) == 0 {
		err = errEmpty
	}
	if err != nil {
		return "", nil, badArg(c, log, "method", err)
	}
	name := string(mb)
	p, err := stringView(m, params, MaxParams)
	if err == nil && !isJSONObject(p) {
		err = errNotObject
	}
	if err != nil {
		return "", nil, badArg(c, log, "params_json", err)
	}
	return name, p, abi.None
}

func badArg(c *Counters, log *zap.Logger, what string, err error) abi.Code {
	c.Invalid.Add(1)
	log.Warn("send_event refused: invalid "+what, zap.Error(err))
	return abi.DaemonError
}

// isJSONObject reports whether s is one valid JSON value that is an object.
func isJSONObject(s []byte) bool {
	t := bytes.TrimLeft(s, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(t)
}

// Deliver hands an event that ReadEvent accepted to the sink, for every
// runtime: a nil sink, or send_event nested deeper than reentry.MaxDepth
// on this thread (counted), is DaemonError; so is a sink's panic
// (counted, logged); otherwise the sink's answer (outcome.SinkCode). ev's
// params must be the host's copy. The goroutine keeps its thread while
// the sink runs: the sink may call back into the plugin, and the re-entry
// record is per thread.
func Deliver(ctx context.Context, c *Counters, log *zap.Logger, sink clawd.Sink, owner *reentry.Owner, ev clawd.Event) abi.Code {
	if sink == nil {
		log.Warn("send_event refused: the host has no event sink", zap.String("method", ev.Method))
		return abi.DaemonError
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f, err := reentry.Enter(owner)
	if err != nil {
		c.Deep.Add(1)
		log.Warn("send_event refused: calls nested too deep", zap.String("method", ev.Method), zap.Int("max_depth", reentry.MaxDepth))
		return abi.DaemonError
	}
	defer f.Leave()
	return outcome.Deliver(ctx, sink, ev, func(r any) {
		c.Panics.Add(1)
		log.Error("the event sink panicked", zap.Any("panic", r), zap.String("method", ev.Method))
	})
}

// ReadHook reads a hook event on a live context: its method, and params_json
// of UTF-8 within hook.MaxPayload. A payload that cannot be read is
// DaemonError, counted invalid and refused.
func ReadHook[M Memory](c *Counters, log *zap.Logger, m M, method, params uint64) (string, []byte, abi.Code) {
	name, err := String(m, method, MaxMethod)
	var p []byte
	if err == nil {
		p, err = stringView(m, params, hook.MaxPayload+1)
	}
	if err != nil {
		return name, nil, hookInvalid(c, log, name, err)
	}
	return name, p, abi.None
}

// Verdict answers a hook event that ReadHook read: taken by f (nil: no
// Hook call serves the context) when sent on its thread, counted.
func Verdict(c *Counters, log *zap.Logger, f *hook.Frame, method string, params []byte, thread uint64) abi.Code {
	code, invalid, err := f.Take(method, params, thread)
	if invalid {
		return hookInvalid(c, log, method, err)
	}
	return c.Hook(code)
}

func hookInvalid(c *Counters, log *zap.Logger, method string, err error) abi.Code {
	c.Invalid.Add(1)
	c.HookInvalid.Add(1)
	log.Warn("hook event refused: invalid payload", zap.String("method", method), zap.Error(err))
	return c.Hook(abi.DaemonError)
}
