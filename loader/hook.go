package loader

import (
	"context"
	"errors"
	"runtime"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/hook"
	"github.com/clawd-go/clawd/internal/threadid"
	"github.com/clawd-go/clawd/internal/vtable"
)

var _ clawd.Hooker = (*plugin)(nil)

// Hook runs on_tool_call or on_message like Call and returns the verdict
// the plugin gave during it (see clawd.Hooker). The goroutine keeps its
// thread for the call: a verdict counts only from the thread that runs the
// callback. A native call cannot be interrupted: one that returns after
// ctx's deadline is an error (timeout) and its verdict is dropped.
func (p *plugin) Hook(ctx context.Context, c clawd.Call) (clawd.Verdict, error) {
	if !hook.Gives(c.Op) {
		return clawd.Verdict{}, clawerr.New(clawerr.InvalidArgument, p.name, "hook", c.Op.String()+" gives no verdict", nil)
	}
	o := c.Op
	fn := p.fns[o.Callback()]
	if err := p.precheck(ctx, o); err != nil || fn == 0 {
		return clawd.Verdict{}, err
	}
	if err := p.errs.Validate(c); err != nil {
		return clawd.Verdict{}, err
	}
	re, err := p.enter(o)
	if err != nil {
		return clawd.Verdict{}, err
	}
	s, err := p.acquire(re)
	if err != nil {
		p.leave(re)
		return clawd.Verdict{}, p.memError(o, err)
	}
	base, err := s.Stage3(c.Args[0], c.Args[1], c.Args[2])
	if err != nil {
		s.Release()
		p.leave(re)
		return clawd.Verdict{}, p.memError(o, err)
	}
	runtime.LockOSThread()
	f := hook.NewFrame(o, p.hooked(o), threadid.Current())
	s.Begin(ctx)
	s.SetHook(f)
	r, bad := vtable.Call3(fn, s.Addr(), base, len(c.Args[0]), len(c.Args[1]), len(c.Args[2]))
	s.SetHook(nil)
	s.Release()
	runtime.UnlockOSThread()
	p.leave(re)
	if bad >= 0 {
		return clawd.Verdict{}, p.errs.NUL(o, bad)
	}
	if err := p.errs.Result(o, r); err != nil {
		return clawd.Verdict{}, err
	}
	if err := ctx.Err(); err != nil {
		code := clawerr.Unavailable
		if errors.Is(err, context.DeadlineExceeded) {
			code = clawerr.Timeout
		}
		return clawd.Verdict{}, clawerr.New(code, p.name, o.String(), "the hook returned after its context ended; its verdict is dropped", err)
	}
	v := f.Verdict()
	if v.Kind != clawd.Continue {
		v.Plugin = p.name
	}
	return v, nil
}

func (p *plugin) hooked(o clawd.Op) bool { return p.hooks[o] }
