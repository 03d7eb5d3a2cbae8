package host

import (
	"context"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/clock"
	"github.com/clawd-go/clawd/internal/hook"
	"github.com/clawd-go/clawd/manifest"
)

// HookFailure is what an erroring or timed-out hook means.
type HookFailure uint8

const (
	FailOpen   HookFailure = iota // reported in the outcome; the chain goes on (the default)
	FailClosed                    // the event is blocked; the error is the reason
)

// WithHookFailure sets what a hook that fails means. Default FailOpen.
func WithHookFailure(f HookFailure) Option {
	return optionFunc(func(o *options) { o.hooks.failure = f })
}

// WithHookPolicy lets the host refuse hooks a manifest asks for: allow
// reports whether plugin may give verdicts at point. A refused hook is not
// granted (the plugin loads, and its hook events are refused with
// NotFound), is logged, and is listed in PluginInfo.RefusedHooks. Default:
// every hook asked for is granted. allow is called while plugins load and
// reload, never during dispatch.
func WithHookPolicy(allow func(plugin string, point clawd.HookPoint) bool) Option {
	return optionFunc(func(o *options) { o.hooks.policy = allow })
}

type hookOptions struct {
	failure HookFailure
	policy  func(plugin string, point clawd.HookPoint) bool
}

// hookGrant is what one instance was granted of its manifest's hooks.
type hookGrant struct {
	granted, refused []clawd.HookPoint
	ops              [clawd.NumOps]bool // granted, by op
}

// grantHooks applies the host's hook policy to the hooks m asks for.
func (h *Host) grantHooks(name string, m *manifest.Manifest) hookGrant {
	var g hookGrant
	for _, hp := range m.Hooks {
		if h.o.hooks.policy != nil && !h.o.hooks.policy(name, hp) {
			g.refused = append(g.refused, hp)
			h.log.Warn("hook refused by the host's policy", zap.String("plugin", name), zap.String("hook", string(hp)))
			continue
		}
		g.granted = append(g.granted, hp)
	}
	cfg := clawd.Config{Hooks: g.granted}
	for o := clawd.Op(0); o < clawd.NumOps; o++ {
		g.ops[o] = cfg.Hooked(o)
	}
	return g
}

// Verdicts counts the verdicts a plugin gave, by kind.
type Verdicts struct {
	Continue, Intercept, Block uint64
}

// verdictCounters are the atomic form of Verdicts.
type verdictCounters [3]atomic.Uint64

func (c *verdictCounters) snapshot() Verdicts {
	return Verdicts{Continue: c[clawd.Continue].Load(), Intercept: c[clawd.Intercept].Load(), Block: c[clawd.Block].Load()}
}

// HookOutcome is what one plugin did with one hook dispatch.
type HookOutcome struct {
	Outcome
	// Verdict is the plugin's own: Continue for a plugin that gave none,
	// failed (Err) or was skipped.
	Verdict clawd.VerdictKind
	// Skipped: not called, because an earlier plugin blocked the event.
	Skipped bool
}

// Hook offers call c, a clawd.ToolCall or a clawd.Message, to every
// active plugin that has its callback, in name order, and returns the
// combined verdict and each plugin's outcome (see Hooks above). With
// Intercept, Verdict.Input is the input the tool call should run with, and
// Verdict.Content the content the message should carry. A call of another
// op gives no verdict: Continue, and no plugin is called.
func (h *Host) Hook(ctx context.Context, c clawd.Call) (clawd.Verdict, []HookOutcome) {
	if !hook.Gives(c.Op) {
		return clawd.Verdict{}, nil
	}
	return h.hookChain(ctx, c)
}

func (h *Host) hookChain(ctx context.Context, c clawd.Call) (clawd.Verdict, []HookOutcome) {
	cb := c.Op.Callback()
	var picked []*instance
	for _, e := range *h.order.Load() {
		if in := e.pick(); in != nil {
			if in.p.Has(cb) {
				picked = append(picked, in)
			} else {
				in.release()
			}
		}
	}
	var v clawd.Verdict
	outs := make([]HookOutcome, len(picked))
	for i, in := range picked {
		if v.Kind == clawd.Block {
			outs[i] = HookOutcome{Outcome: Outcome{Plugin: in.e.name, Version: in.version}, Skipped: true}
			in.release()
			continue
		}
		hv, out := in.hook(h, ctx, c)
		outs[i] = HookOutcome{Outcome: out, Verdict: hv.Kind}
		if out.Err != nil {
			if h.o.hooks.failure == FailClosed {
				v = clawd.Verdict{Kind: clawd.Block, Reason: out.Err.Error(), Plugin: in.e.name}
			}
			continue
		}
		switch hv.Kind {
		case clawd.Intercept:
			v = clawd.Verdict{Kind: clawd.Intercept, Plugin: in.e.name}
			if c.Op == clawd.OpMessage {
				v.Content = hv.Content
			} else {
				v.Input = hv.Input
			}
			c.Args[2] = v.Input + v.Content
		case clawd.Block:
			v = clawd.Verdict{Kind: clawd.Block, Reason: hv.Reason, Plugin: in.e.name}
		}
	}
	return v, outs
}

// hook makes one call of a hook chain on an instance picked by hookChain,
// counts it and its verdict, and releases the reference.
func (in *instance) hook(h *Host, ctx context.Context, c clawd.Call) (clawd.Verdict, Outcome) {
	defer in.release()
	hk, ok := in.p.(clawd.Hooker)
	ok = ok && in.hooks.ops[c.Op]
	ob := h.o.obs
	var ci CallInfo
	if ob != nil {
		ci = in.callInfo(c.Op, true)
		if octx := ob.CallStart(ctx, ci); octx != nil {
			ctx = octx
		}
	}
	start := clock.Mono()
	var v clawd.Verdict
	var err error
	if ok {
		v, err = hk.Hook(ctx, c)
	} else {
		err = in.p.Call(ctx, c)
	}
	d := clock.Mono() - start
	in.e.stats.record(err, d)
	in.e.timed(d, h.o.parallel)
	if err != nil {
		v = clawd.Verdict{}
	} else if v.Kind <= clawd.Block {
		in.e.stats.verdicts[v.Kind].Add(1)
	}
	if ob != nil {
		ob.CallEnd(ctx, ci, callResult(err, d, v.Kind))
	}
	return v, Outcome{Plugin: in.e.name, Version: in.version, Err: err, Duration: d}
}
