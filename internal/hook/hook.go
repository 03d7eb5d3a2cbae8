// Package hook is the verdict convention of every runtime, in one place:
// which send_event methods are hook events, the state of one call made
// through clawd.Hooker.Hook, and the validation of the payloads. A
// runtime reserves every method with the prefix "hook." (such an event
// never reaches the host's sink and needs no network.relay), hands the
// events sent on the calling thread of a Hook call to its Frame with Take,
// and answers NotFound to every other one.
//
// A verdict belongs to its call: it reaches the host only for the call in
// flight on the thread that runs it. One on a context whose call returned
// is stale (NotFound, counted in Stats.StaleEvents and HookRefused); one
// sent while a sink of the call's own event runs on its thread comes from
// a call nested below it (Frame.Away) and is refused.
//
// In process (package loader) the frame hangs off the context of the call
// (clawctx.Slot.SetHook) and the thread is the OS thread. The process
// sandbox runs its child's loader with Forward, so the child sends every
// hook event to its host unjudged; the host takes those that arrive on
// the call channel (thread 0) with the token of the call in flight (the
// plugin can write the channel itself) with that call's frame, and
// refuses those of the async channel and those with another token. A
// runtime whose guest has one thread (WASM) keeps the frame of the call in
// flight and passes 0 while no call nested below it runs.
package hook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/runopt"
)

// The hook events.
const (
	Prefix          = "hook."
	MethodBlock     = "hook.block"     // {"reason": "..."}
	MethodIntercept = "hook.intercept" // {"input": {...}} or {"content": ...}
)

// Bounds on a verdict's payload.
const (
	MaxPayload = 1 << 20 // params_json of a hook event, bytes
	MaxReason  = 4 << 10 // a Block's reason, bytes
)

// Reserved reports whether method is a hook event: the host's, never the
// sink's.
func Reserved[T string | []byte](method T) bool {
	return len(method) >= len(Prefix) && string(method[:len(Prefix)]) == Prefix
}

// Frame is the verdict state of one call made through Hook. Its verdict is
// written only by Take on the calling thread, while the callback runs, and
// read by Verdict after it returned: no lock.
type Frame struct {
	op      clawd.Op
	granted bool
	thread  uint64
	v       clawd.Verdict
	// away counts the sinks that run on the calling thread for this call's
	// own events (Away): a call the sink makes back into the plugin is then
	// the call in flight on the thread, and a verdict on this call's
	// context is not for it.
	away atomic.Int32
}

// NewFrame starts the state of a Hook call of op on thread (the runtime's
// name for the calling thread: an OS thread id, or 0 for a call channel).
// granted says whether the plugin has the op's hook point.
func NewFrame(op clawd.Op, granted bool, thread uint64) *Frame {
	return &Frame{op: op, granted: granted, thread: thread}
}

// Init resets f for a new call, as NewFrame: for a runtime that keeps one.
func (f *Frame) Init(op clawd.Op, granted bool, thread uint64) {
	f.op, f.granted, f.thread, f.v = op, granted, thread, clawd.Verdict{}
	f.away.Store(0)
}

// Away marks that the calling thread left the call for a sink of one of
// its events, until Back: a hook event on the call's context meanwhile
// comes from a call nested below it, not from the call in flight, and is
// refused. f may be nil.
func (f *Frame) Away() {
	if f != nil {
		f.away.Add(1)
	}
}

// Back ends what Away began.
func (f *Frame) Back() {
	if f != nil {
		f.away.Add(-1)
	}
}

// Verdict is the verdict taken, Continue if none.
func (f *Frame) Verdict() clawd.Verdict { return f.v }

// Take answers one hook event: method (Reserved) with params, sent on
// thread. f is nil when no Hook call serves the context. code is what
// send_event returns: None when the verdict is taken, NotFound when no
// verdict can be given here, DaemonError for an invalid payload (invalid
// is then true and err says why, for the runtime to count and log).
func (f *Frame) Take(method string, params []byte, thread uint64) (code abi.Code, invalid bool, err error) {
	if f == nil || !f.granted || thread != f.thread || f.away.Load() != 0 {
		return abi.NotFound, false, nil
	}
	var v clawd.Verdict
	switch method {
	case MethodBlock:
		v, err = parseBlock(params)
	case MethodIntercept:
		v, err = parseIntercept(f.op, params)
	default:
		return abi.NotFound, false, nil
	}
	if err != nil {
		return abi.DaemonError, true, err
	}
	f.v = v
	return abi.None, false, nil
}

// object decodes params as a JSON object of at most MaxPayload bytes and
// returns the value of key.
func object(params []byte, key string) (json.RawMessage, error) {
	if len(params) > MaxPayload {
		return nil, fmt.Errorf("params_json is %d bytes, more than %d", len(params), MaxPayload)
	}
	t := bytes.TrimLeft(params, " \t\r\n")
	var m map[string]json.RawMessage
	if len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &m) != nil {
		return nil, fmt.Errorf("params_json is not a JSON object")
	}
	if k, dup := repeatedKey(t); dup {
		return nil, fmt.Errorf("params_json repeats the key %q within one object: readers differ on which one counts", k)
	}
	raw, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("params_json has no %q", key)
	}
	return raw, nil
}

// repeatedKey returns the first key given twice within one object of the
// valid JSON document t, at any depth: json.Unmarshal keeps the last
// silently, and a verdict (an intercepted input above all) must read the
// same to every reader after the host.
func repeatedKey(t []byte) (string, bool) {
	type object struct {
		keys    map[string]struct{}
		wantKey bool
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	var stack []*object // nil for an array
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var top *object
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		d, delim := tok.(json.Delim)
		if delim && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.wantKey {
			k, _ := tok.(string)
			if _, seen := top.keys[k]; seen {
				return k, true
			}
			top.keys[k] = struct{}{}
			top.wantKey = false
			continue
		}
		if top != nil {
			top.wantKey = true // after this value, the next key
		}
		switch d {
		case '{':
			stack = append(stack, &object{keys: map[string]struct{}{}, wantKey: true})
		case '[':
			stack = append(stack, nil)
		}
	}
}

func parseBlock(params []byte) (clawd.Verdict, error) {
	raw, err := object(params, "reason")
	if err != nil {
		return clawd.Verdict{}, err
	}
	var reason string
	if json.Unmarshal(raw, &reason) != nil {
		return clawd.Verdict{}, fmt.Errorf(`"reason" is not a string`)
	}
	if len(reason) > MaxReason {
		return clawd.Verdict{}, fmt.Errorf(`"reason" is %d bytes, more than %d`, len(reason), MaxReason)
	}
	return clawd.Verdict{Kind: clawd.Block, Reason: reason}, nil
}

func parseIntercept(op clawd.Op, params []byte) (clawd.Verdict, error) {
	key := "input"
	if op == clawd.OpMessage {
		key = "content"
	}
	raw, err := object(params, key)
	if err != nil {
		return clawd.Verdict{}, err
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return clawd.Verdict{}, fmt.Errorf("%q: %v", key, err)
	}
	s := b.String()
	if op == clawd.OpMessage {
		if s == "null" {
			return clawd.Verdict{}, fmt.Errorf(`"content" is null`)
		}
		return clawd.Verdict{Kind: clawd.Intercept, Content: s}, nil
	}
	if !strings.HasPrefix(s, "{") {
		return clawd.Verdict{}, fmt.Errorf(`"input" is not a JSON object`)
	}
	return clawd.Verdict{Kind: clawd.Intercept, Input: s}, nil
}

// Points lists the hook points, in the order of their ops.
var Points = []clawd.HookPoint{clawd.HookToolCall, clawd.HookMessage}

// every grants every hook point: Gives reads which op has one from
// clawd.Config.Hooked, the rule's one home.
var every = clawd.Config{Hooks: Points}

// Gives reports whether op gives a verdict (has a hook point): a Hook
// call with another op is invalid_argument.
func Gives(op clawd.Op) bool { return every.Hooked(op) }

// forward is what Forward carries (internal/runopt).
type forward struct{}

// Forward is the option of a runtime's in-process loader whose host is
// elsewhere (a sandbox child): hook events from a live context go to its
// sink as they are, for the host to validate and decide.
func Forward() clawd.Option { return runopt.Wrap[clawd.Option](forward{}) }

// Forwarding reports whether opts hold Forward.
func Forwarding(opts []clawd.Option) bool {
	found := false
	runopt.Each(opts, func(forward) { found = true })
	return found
}
