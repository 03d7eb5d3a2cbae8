package conformance

import (
	"context"
	"slices"
	"strings"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/hook"
)

// checkHooks (context.hooks) runs the workload with every hook granted,
// on_tool_call and on_message as hooks: a hook event must come from inside
// one of those callbacks, on its thread, with a valid payload, and the
// manifest must ask for the hook it uses.
func checkHooks(c *cenv) childResult {
	p, err := c.open(clawd.WithHooks(hook.Points...))
	if err != nil {
		return loadErr(err)
	}
	h, ok := p.(clawd.Hooker)
	if !ok {
		_ = closeAt(c, p)
		return skip("this runtime gives no hook verdicts")
	}
	var used []string // hook points that took verdicts
	for _, k := range workload() {
		if !p.Has(k.cb) {
			continue
		}
		c.at(k.label)
		before := p.Stats().HookVerdicts
		var hp clawd.HookPoint
		switch k.cb {
		case abi.OnToolCall:
			hp = clawd.HookToolCall
			_, err := h.Hook(context.Background(), clawd.ToolCall(k.args[0], k.args[1], k.args[2]))
			c.faulted(k.label, err)
		case abi.OnMessage:
			hp = clawd.HookMessage
			_, err := h.Hook(context.Background(), clawd.Message(k.args[0], k.args[1], k.args[2]))
			c.faulted(k.label, err)
		default:
			c.faulted(k.label, k.do(p))
		}
		if p.Stats().HookVerdicts > before && !slices.Contains(used, string(hp)) {
			used = append(used, string(hp))
		}
	}
	s := p.Stats()
	_ = closeAt(c, p)
	var undeclared []string
	if c.man != nil {
		for _, u := range used {
			if !slices.Contains(c.man.Hooks, clawd.HookPoint(u)) {
				undeclared = append(undeclared, `"`+u+`"`)
			}
		}
	}
	switch {
	case s.HookInvalid > 0:
		return fail(`%s had an invalid payload: hook.block takes {"reason": "..."}, hook.intercept takes {"input": {...}} in on_tool_call and {"content": ...} in on_message, each at most 1 MiB`,
			plural(int(s.HookInvalid), "hook event", "hook events"))
	case s.HookRefused > 0:
		return fail("%s refused: a verdict counts only from inside on_tool_call or on_message, on the thread that runs it, with hook.block or hook.intercept",
			plural(int(s.HookRefused), "hook event was", "hook events were"))
	case len(undeclared) > 0:
		return fail("the plugin gives verdicts in %s, but its manifest does not ask for them: add hooks = [%s]",
			strings.Join(used, " and "), strings.Join(undeclared, ", "))
	case s.HookVerdicts == 0:
		return pass("no hook events")
	}
	return pass("%s, from inside the callbacks, with valid payloads", plural(int(s.HookVerdicts), "verdict", "verdicts"))
}
