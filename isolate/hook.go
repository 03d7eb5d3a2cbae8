package isolate

import (
	"context"
	"math/rand/v2"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/boundary"
	"github.com/clawd-go/clawd/internal/hook"
)

var _ clawd.Hooker = (*plugin)(nil)

// Hook runs on_tool_call or on_message in the child like Call and returns
// the verdict the plugin gave during it (see clawd.Hooker). The child
// forwards every hook event; the host decides: one that comes on the call
// channel while the callback runs, with the call's token (frame.go), is
// the calling thread's and is taken by the call's frame; one from the
// plugin's own threads (the async channel) is refused with NotFound, and
// one with another token (a frame of an earlier call, or one written after
// its call's result) is stale: refused and counted (Stats.StaleEvents and
// HookRefused), never this call's verdict. A hook that overruns its
// deadline is killed, as any call, and returns timeout.
func (p *plugin) Hook(ctx context.Context, c clawd.Call) (clawd.Verdict, error) {
	if !hook.Gives(c.Op) {
		return clawd.Verdict{}, clawerr.New(clawerr.InvalidArgument, p.name(), "hook", c.Op.String()+" gives no verdict", nil)
	}
	f := hook.NewFrame(c.Op, p.o.Hooked(c.Op), 0)
	if err := p.exchange(ctx, c.Op, c.Args[0], c.Args[1], c.Args[2], f); err != nil {
		return clawd.Verdict{}, err
	}
	v := f.Verdict()
	if v.Kind != clawd.Continue {
		v.Plugin = p.Name()
	}
	return v, nil
}

// setCall makes f and token those of the exchange in flight.
func (p *plugin) setCall(f *hook.Frame, token uint32) { p.hook, p.token = f, token }

// newToken draws the token of a call (frame.go): random, so that a frame
// the plugin writes before the call cannot carry it, and never noCall.
func newToken() uint32 {
	for {
		if t := rand.Uint32(); t != noCall {
			return t
		}
	}
}

// takeHook answers a hook event that came on the call channel with token:
// the calling thread's, taken by the frame of the Hook call in flight, if
// any. One with another token (from an earlier call, or written after its
// call's result) is stale: refused with NotFound, counted as a stale
// event, as a stale context is in process.
func (p *plugin) takeHook(e clawd.Event, token uint32) abi.Code {
	if token != p.token {
		p.host.StaleEvents.Add(1)
		return p.host.Hook(abi.NotFound)
	}
	return boundary.Verdict(&p.host, p.id.Load().log, p.hook, e.Method, e.Params, 0)
}
