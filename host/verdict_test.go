package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/manifest"
)

// hookPlugins writes one copy of the hook test plugin per name, each
// asking for hooks and network.relay (for its reports).
func hookPlugins(t *testing.T, root, hooks string, names ...string) {
	t.Helper()
	lib := cbuild.Plugin(t, "hook")
	for _, n := range names {
		dir := filepath.Join(root, n)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		copyFile(t, lib, filepath.Join(dir, libName(n)))
		writeFile(t, filepath.Join(dir, "plugin.toml"), fmt.Appendf(nil,
			"name = %q\nversion = \"1.0.0\"\nentry = %q\ncapabilities = [\"network.relay\"]\nhooks = [%s]\n", n, libName(n), hooks))
	}
}

func hookRig(t *testing.T, sandbox manifest.Sandbox, names []string, opts ...host.Option) *rig {
	t.Helper()
	root := t.TempDir()
	hookPlugins(t, root, `"tool_call", "message"`, names...)
	r := newRig(t, append([]host.Option{host.WithPluginDirs(root), host.WithSandbox(sandbox)}, opts...)...)
	require.NoError(t, r.h.Load(bg))
	return r
}

// verdicts are the plugins' own verdicts, "-" for a skipped one and "!"
// plus the code for a failed one.
func verdicts(outs []host.HookOutcome) []string {
	var s []string
	for _, o := range outs {
		switch {
		case o.Skipped:
			s = append(s, o.Plugin+":-")
		case o.Err != nil:
			s = append(s, o.Plugin+":!"+string(clawerr.CodeOf(o.Err)))
		default:
			s = append(s, o.Plugin+":"+o.Verdict.String())
		}
	}
	return s
}

func TestHookChains(t *testing.T) {
	for _, sb := range []manifest.Sandbox{manifest.SandboxNative, manifest.SandboxProcess} {
		t.Run(string(sb), func(t *testing.T) {
			r := hookRig(t, sb, []string{"a", "b", "c"})
			h := r.h

			v, outs := h.Hook(bg, clawd.ToolCall("s", "C", `{"n":0}`))
			require.Equal(t, clawd.Verdict{}, v)
			require.Equal(t, []string{"a:continue", "b:continue", "c:continue"}, verdicts(outs))

			v, outs = h.Hook(bg, clawd.ToolCall("s", "IB", `{"n":0}`)) // block after intercept
			require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "blocked at 1", Plugin: "b"}, v)
			require.Equal(t, []string{"a:intercept", "b:block", "c:-"}, verdicts(outs))

			v, outs = h.Hook(bg, clawd.ToolCall("s", "II", `{"n":0}`)) // intercept after intercept
			require.Equal(t, clawd.Verdict{Kind: clawd.Intercept, Input: `{"n":2}`, Plugin: "b"}, v)
			require.Equal(t, []string{"a:intercept", "b:intercept", "c:continue"}, verdicts(outs))

			v, outs = h.Hook(bg, clawd.ToolCall("s", "III", `{"n":0}`))
			require.Equal(t, clawd.Verdict{Kind: clawd.Intercept, Input: `{"n":3}`, Plugin: "c"}, v)
			require.Equal(t, []string{"a:intercept", "b:intercept", "c:intercept"}, verdicts(outs))

			v, outs = h.Hook(bg, clawd.ToolCall("s", "BI", `{"n":0}`)) // block stops the chain
			require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "blocked at 0", Plugin: "a"}, v)
			require.Equal(t, []string{"a:block", "b:-", "c:-"}, verdicts(outs))
			require.NoError(t, host.Errors(outs))

			v, outs = h.Hook(bg, clawd.Message("s", "user", `"IIB 0"`))
			require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "blocked at 2", Plugin: "c"}, v)
			require.Equal(t, []string{"a:intercept", "b:intercept", "c:block"}, verdicts(outs))

			v, outs = h.Hook(bg, clawd.Message("s", "user", `"IC 0"`))
			require.Equal(t, clawd.Verdict{Kind: clawd.Intercept, Content: `"IC 1"`, Plugin: "a"}, v)
			require.Equal(t, []string{"a:intercept", "b:continue", "c:continue"}, verdicts(outs))

			var rcs []string
			for _, e := range r.takeEvents() {
				require.Equal(t, "hooktest.rc", e.Method, "a hook event reached the sink")
				rcs = append(rcs, e.Plugin+string(e.Params))
			}
			require.Equal(t, []string{
				`a{"rc":0,"k":0}`, `b{"rc":0,"k":1}`, // IB
				`a{"rc":0,"k":0}`, `b{"rc":0,"k":1}`, // II
				`a{"rc":0,"k":0}`, `b{"rc":0,"k":1}`, `c{"rc":0,"k":2}`, // III
				`a{"rc":0,"k":0}`,                                       // BI
				`a{"rc":0,"k":0}`, `b{"rc":0,"k":1}`, `c{"rc":0,"k":2}`, // IIB
				`a{"rc":0,"k":0}`, // IC
			}, rcs)

			// The plain dispatch is unchanged: the same plan blocks nothing,
			// each plugin's hook event is refused with NotFound (the calls may
			// run in parallel: their reports come in any order).
			outs2 := h.Call(bg, clawd.ToolCall("s", "B", `{"n":0}`))
			require.Equal(t, []string{"a", "b", "c"}, outcomeNames(outs2))
			require.NoError(t, host.Errors(outs2))
			rcs = nil
			for _, e := range r.takeEvents() {
				rcs = append(rcs, e.Plugin+string(e.Params))
			}
			require.ElementsMatch(t, []string{`a{"rc":4,"k":0}`, `b{"rc":4,"k":0}`, `c{"rc":4,"k":0}`}, rcs)

			a := info(t, h, "a")
			require.Equal(t, []clawd.HookPoint{clawd.HookToolCall, clawd.HookMessage}, a.Hooks)
			require.Empty(t, a.RefusedHooks)
			require.Equal(t, host.Verdicts{Continue: 1, Intercept: 5, Block: 1}, a.Stats.Verdicts)
			require.Equal(t, host.Verdicts{Continue: 2, Intercept: 3, Block: 1}, info(t, h, "b").Stats.Verdicts)
			require.Equal(t, host.Verdicts{Continue: 3, Intercept: 1, Block: 1}, info(t, h, "c").Stats.Verdicts)
		})
	}
}

func TestHookPolicyRefuses(t *testing.T) {
	for _, sb := range []manifest.Sandbox{manifest.SandboxNative, manifest.SandboxProcess} {
		t.Run(string(sb), func(t *testing.T) {
			r := hookRig(t, sb, []string{"a", "b"}, host.WithHookPolicy(func(plugin string, p clawd.HookPoint) bool {
				return plugin != "b" || p != clawd.HookToolCall
			}))
			v, outs := r.h.Hook(bg, clawd.ToolCall("s", "IB", `{"n":0}`))
			require.Equal(t, clawd.Verdict{Kind: clawd.Intercept, Input: `{"n":1}`, Plugin: "a"}, v)
			require.Equal(t, []string{"a:intercept", "b:continue"}, verdicts(outs))
			var rcs []string
			for _, e := range r.takeEvents() {
				rcs = append(rcs, e.Plugin+string(e.Params))
			}
			require.Equal(t, []string{`a{"rc":0,"k":0}`, `b{"rc":4,"k":1}`}, rcs)
			b := info(t, r.h, "b")
			require.Equal(t, []clawd.HookPoint{clawd.HookMessage}, b.Hooks)
			require.Equal(t, []clawd.HookPoint{clawd.HookToolCall}, b.RefusedHooks)

			v, _ = r.h.Hook(bg, clawd.Message("s", "user", `"IB 0"`))
			require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "blocked at 1", Plugin: "b"}, v)
		})
	}
}

func TestHookFailures(t *testing.T) {
	for _, sb := range []manifest.Sandbox{manifest.SandboxNative, manifest.SandboxProcess} {
		t.Run(string(sb)+"/error/open", func(t *testing.T) {
			r := hookRig(t, sb, []string{"a", "b"})
			v, outs := r.h.Hook(bg, clawd.ToolCall("s", "E", `{"n":0}`))
			require.Equal(t, clawd.Verdict{}, v, "a non-zero return is an error, never a block")
			require.Equal(t, []string{"a:!callback_error", "b:!callback_error"}, verdicts(outs))
			require.True(t, errors.Is(outs[0].Err, abi.CallbackError))
			require.Equal(t, host.Verdicts{}, info(t, r.h, "a").Stats.Verdicts)
		})
		t.Run(string(sb)+"/error/closed", func(t *testing.T) {
			r := hookRig(t, sb, []string{"a", "b"}, host.WithHookFailure(host.FailClosed))
			v, outs := r.h.Hook(bg, clawd.ToolCall("s", "E", `{"n":0}`))
			require.Equal(t, clawd.Block, v.Kind)
			require.Equal(t, "a", v.Plugin)
			require.Equal(t, outs[0].Err.Error(), v.Reason)
			require.Equal(t, []string{"a:!callback_error", "b:-"}, verdicts(outs))
		})
		t.Run(string(sb)+"/timeout/open", func(t *testing.T) {
			r := hookRig(t, sb, []string{"a", "b"})
			ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
			defer cancel()
			v, outs := r.h.Hook(ctx, clawd.Message("s", "user", `"S 0"`))
			require.Equal(t, clawd.Verdict{}, v, "a hook past its deadline is an error, never a silent verdict")
			require.Equal(t, []string{"a:!timeout", "b:!timeout"}, verdicts(outs))
		})
		t.Run(string(sb)+"/timeout/closed", func(t *testing.T) {
			r := hookRig(t, sb, []string{"a", "b"}, host.WithHookFailure(host.FailClosed))
			ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
			defer cancel()
			v, outs := r.h.Hook(ctx, clawd.ToolCall("s", "S", `{"n":0}`))
			require.Equal(t, clawd.Block, v.Kind)
			require.Equal(t, "a", v.Plugin)
			require.True(t, strings.Contains(v.Reason, "timeout"), v.Reason)
			require.Equal(t, []string{"a:!timeout", "b:-"}, verdicts(outs))
		})
	}
}
