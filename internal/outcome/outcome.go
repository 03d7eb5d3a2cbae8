// Package outcome turns what crosses the plugin boundary into what the
// other side sees, the same way for every runtime: a callback's ClawaError
// into a Go error (precomputed, so that a failing callback costs no
// allocation), and a sink's answer into the ClawaError that send_event
// returns to the plugin.
package outcome

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cabi"
)

// ErrInteriorNUL reports a string that cannot cross as a C string.
var ErrInteriorNUL = errors.New("string contains a NUL byte")

// Errors holds one plugin's callback_error values, made once.
type Errors struct {
	plugin string
	errs   [clawd.NumOps][abi.DaemonError + 1]error
}

// NewErrors makes the errors of the plugin named plugin.
func NewErrors(plugin string) *Errors {
	e := &Errors{plugin: plugin}
	for o := clawd.Op(0); o < clawd.NumOps; o++ {
		for c := abi.InitFailed; c <= abi.DaemonError; c++ {
			e.errs[o][c] = clawerr.New(clawerr.CallbackError, plugin, o.String(), "", c)
		}
	}
	return e
}

// Plugin is the name the errors carry.
func (e *Errors) Plugin() string { return e.plugin }

// Result is the error for the value rc that op's callback returned: nil
// for CLAWA_ERROR_NONE, callback_error (matching the abi.Code) for a value
// ABI v1 defines, unknown_code otherwise.
func (e *Errors) Result(op clawd.Op, rc int32) error {
	if rc == 0 { // inlined into the caller: success costs no call
		return nil
	}
	return e.failure(op, rc)
}

func (e *Errors) failure(op clawd.Op, rc int32) error {
	if c := abi.Code(rc); c.Known() && op < clawd.NumOps {
		return e.errs[op][c]
	}
	return clawerr.New(clawerr.UnknownCode, e.plugin, op.String(),
		"the plugin returned a ClawaError this host does not know", &abi.UnknownCodeError{Code: rc})
}

// Closed is the refusal of a call after Close.
func (e *Errors) Closed(op string) error {
	return clawerr.New(clawerr.Closed, e.plugin, op, "the plugin is closed", nil)
}

// NotCalled is the refusal of a call whose context ended before it began:
// timeout for a deadline, unavailable for a cancellation.
func (e *Errors) NotCalled(op clawd.Op, err error) error {
	code := clawerr.Unavailable
	if errors.Is(err, context.DeadlineExceeded) {
		code = clawerr.Timeout
	}
	return clawerr.New(code, e.plugin, op.String(), "not called", err)
}

// NUL is the refusal of an argument that holds a NUL byte.
func (e *Errors) NUL(op clawd.Op, arg int) error {
	return clawerr.New(clawerr.InvalidArgument, e.plugin, op.String(), cabi.ArgName(op.Callback(), arg), ErrInteriorNUL)
}

// TooLarge is the refusal of arguments larger than limit bytes in all.
func (e *Errors) TooLarge(op clawd.Op, limit int) error {
	return clawerr.New(clawerr.InvalidArgument, e.plugin, op.String(),
		fmt.Sprintf("the arguments are larger than %d bytes", limit), nil)
}

// Deadlock is the refusal of a call that would wait forever.
func (e *Errors) Deadlock(op string, err error) error {
	return clawerr.New(clawerr.Unavailable, e.plugin, op,
		"refused: called from inside an event sink while the plugin is busy with a call that waits for this one", err)
}

// BadOp is the refusal of a Call whose Op is not one of the four.
func (e *Errors) BadOp(op clawd.Op) error {
	return clawerr.New(clawerr.InvalidArgument, e.plugin, "call", fmt.Sprintf("unknown op %d", uint8(op)), nil)
}

// SinkCode maps a sink's answer to the code the plugin's send_event
// returns: nil is None, an abi.Code 1-5 (also wrapped) is that code, and
// anything else, an unknown code included, is DaemonError: a plugin only
// ever sees the values ABI v1 defines.
func SinkCode(err error) abi.Code {
	if err == nil {
		return abi.None
	}
	var c abi.Code
	if errors.As(err, &c) && c.Known() && c != abi.None {
		return c
	}
	return abi.DaemonError
}

// Deliver runs sink with e and maps its answer, recovering a panic as
// DaemonError (reported through panicked, if not nil). A nil sink refuses
// with DaemonError.
func Deliver(ctx context.Context, sink clawd.Sink, e clawd.Event, panicked func(any)) (code abi.Code) {
	if sink == nil {
		return abi.DaemonError
	}
	defer func() {
		if r := recover(); r != nil {
			if panicked != nil {
				panicked(r)
			}
			code = abi.DaemonError
		}
	}()
	return SinkCode(sink.Deliver(ctx, e))
}

// Validate is clawd.Call.Validate's refusal named after the plugin: the
// one rule every runtime applies before its plugin sees a call. A text
// with a NUL byte is refused as the runtimes refuse any string with one.
func (e *Errors) Validate(c clawd.Call) error {
	err := c.Validate()
	if err == nil {
		return nil
	}
	if strings.IndexByte(c.Args[2], 0) >= 0 {
		return e.NUL(c.Op, 2)
	}
	var ce *clawerr.Error
	if errors.As(err, &ce) {
		named := *ce
		named.Plugin = e.plugin
		return &named
	}
	return err
}
