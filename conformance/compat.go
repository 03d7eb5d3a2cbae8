package conformance

import (
	"fmt"
	"strings"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cmem"
	"github.com/clawd-go/clawd/internal/vtable"
)

// nullContextWhy is what a crash under compat.null_context means, and how
// to fix it: the words the parent adds to the crash it saw.
const nullContextWhy = "the reference daemon passes a NULL context to every callback, " +
	"so this plugin crashes there: check ctx for NULL before ctx->log or ctx->send_event (this host always passes one)"

// nullContextAt is the progress line of the callback being called with a
// NULL context: the parent's crash message names it.
func nullContextAt(cb abi.Callback) string { return cb.String() + " (NULL context)" }

// checkNullContext calls every callback the plugin sets, in a session's
// order, with ctx NULL and small valid strings, as the reference daemon
// would. The library is opened directly: the loader never passes NULL. A
// crash ends this child; the parent turns it into a warning with the
// reason (Check.crashWarns).
func checkNullContext(c *cenv) childResult {
	d, raw, bad := c.v1Table()
	if bad != nil {
		return *bad
	}
	defer d.close()
	mem, err := cmem.Alloc(1 << 12)
	if err != nil {
		return fail("no memory for the call's strings: %v", err)
	}
	defer mem.Free()
	// stage lays the strings out as vtable.Call3 expects them (each
	// followed by its terminator's byte) and returns their lengths.
	stage := func(ss ...string) (n [3]int) {
		b := mem.Bytes()[:0]
		for i, s := range ss {
			b = append(append(b, s...), 0)
			n[i] = len(s)
		}
		return n
	}
	const session = "conformance-null-context"
	var refused []string
	note := func(cb abi.Callback, rc int32) {
		if rc != 0 {
			refused = append(refused, fmt.Sprintf("%s returned %d", cb, rc))
		}
	}
	for _, cb := range []abi.Callback{abi.OnLoad, abi.OnSessionStart, abi.OnToolCall, abi.OnMessage, abi.OnSessionEnd, abi.OnUnload} {
		fn := raw.Callback(cb)
		if fn == 0 {
			continue
		}
		c.at(nullContextAt(cb))
		switch cb {
		case abi.OnLoad:
			note(cb, vtable.Call0(fn, 0))
		case abi.OnUnload:
			vtable.CallUnload(fn, 0)
		case abi.OnSessionStart, abi.OnSessionEnd:
			n := stage(session)
			r, _ := vtable.Call1(fn, 0, mem.Addr(), n[0])
			note(cb, r)
		case abi.OnToolCall:
			n := stage(session, "conformance_probe", `{"query":"hello","limit":3}`)
			r, _ := vtable.Call3(fn, 0, mem.Addr(), n[0], n[1], n[2])
			note(cb, r)
		case abi.OnMessage:
			n := stage(session, "user", `{"text":"hello from the conformance suite"}`)
			r, _ := vtable.Call3(fn, 0, mem.Addr(), n[0], n[1], n[2])
			note(cb, r)
		}
	}
	c.at("after the callbacks (NULL context)")
	if len(refused) > 0 {
		return pass("every callback survives a NULL context, as the reference daemon passes one (%s)", strings.Join(refused, ", "))
	}
	return pass("every callback survives a NULL context, as the reference daemon passes one")
}
