package conformance

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"github.com/clawd-go/clawd/internal/sigkey"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/clawctx"
	"github.com/clawd-go/clawd/internal/dl"
	"github.com/clawd-go/clawd/internal/sigaction"
	"github.com/clawd-go/clawd/internal/threads"
	"github.com/clawd-go/clawd/internal/vtable"
)

// settle is how long the checks wait for a plugin's late work (a thread
// that uses a kept context, one that is still winding down).
const settle = 50 * time.Millisecond

// Budgets of the timing checks (the defaults; a run may set others, see
// withTimingBudgets).
const (
	loadBudget     = 100 * time.Millisecond
	callbackBudget = 10 * time.Millisecond
	timedCalls     = 5 // each callback is timed this often; the fastest counts
)

// quiesce waits until the threads started since the census before (of
// threads Go did not start) have ended, for at most 10*settle, so that
// their late uses of a context are counted however busy the machine is.
// Where threads cannot be counted it waits settle.
func quiesce(before int, counted bool) {
	if !counted {
		time.Sleep(settle)
		return
	}
	for deadline := time.Now().Add(10 * settle); ; time.Sleep(5 * time.Millisecond) {
		if n, ok := threads.Foreign(); !ok || n <= before || time.Now().After(deadline) {
			return
		}
	}
}

// run makes the calls the plugin handles, recording where the child is.
func run(c *cenv, p clawd.Plugin, calls []call, after func(call, error)) {
	for _, k := range calls {
		if !p.Has(k.cb) {
			continue
		}
		c.at(k.label)
		err := k.do(p)
		c.faulted(k.label, err)
		if after != nil {
			after(k, err)
		}
	}
}

// closeAt closes p, recording that the child is in on_unload.
func closeAt(c *cenv, p clawd.Plugin) error {
	c.at("on_unload")
	return p.Close()
}

func names(calls []call, p clawd.Plugin) string {
	var out []string
	for _, k := range calls {
		if p.Has(k.cb) && !slices.Contains(out, k.cb.String()) {
			out = append(out, k.cb.String())
		}
	}
	return strings.Join(out, ", ")
}

func checkOnLoad(c *cenv) childResult {
	c.at("on_load")
	p, err := c.open()
	if err != nil {
		if clawerr.CodeOf(err) != clawerr.OnLoadFailed {
			return skip("plugin does not load: %s", clawerr.CodeOf(err))
		}
		return fail("%s: return CLAWA_ERROR_NONE from on_load once the plugin is ready; any other value keeps it from loading", onLoadFailure(err))
	}
	_ = closeAt(c, p)
	return pass("on_load returned CLAWA_ERROR_NONE")
}

// survives sends the calls; the check fails only by crashing or hanging
// (the parent reports that). Error codes are callbacks.codes' business.
func survives(c *cenv, calls []call) childResult {
	p, err := c.open()
	if err != nil {
		return loadErr(err)
	}
	run(c, p, calls, nil)
	_ = closeAt(c, p)
	return pass("survived: %s", names(calls, p))
}

func checkCodes(c *cenv) childResult {
	p, err := c.open()
	if err != nil {
		return loadErr(err)
	}
	var bad []string
	run(c, p, workload(), func(k call, err error) {
		if code, ok := returned(err); ok && !abi.Code(code).Known() {
			s := fmt.Sprintf("%s returned %d", k.cb, code)
			if !slices.Contains(bad, s) {
				bad = append(bad, s)
			}
		}
	})
	_ = closeAt(c, p)
	if len(bad) > 0 {
		return fail("%s: return only CLAWA_ERROR_NONE (0) to CLAWA_ERROR_DAEMON_ERROR (5); hosts treat any other value as an unknown failure", strings.Join(bad, ", "))
	}
	return pass("every callback returned a ClawaError value 0 to 5")
}

func checkStale(c *cenv) childResult {
	before, counted := threads.Foreign()
	p, err := c.open()
	if err != nil {
		return loadErr(err)
	}
	stale := func() uint64 { s := p.Stats(); return s.StaleLogs + s.StaleEvents }
	firstAfter := ""
	note := func(after string) {
		if firstAfter == "" && stale() > 0 {
			firstAfter = after
		}
	}
	note("on_load")
	// The loader rotates each call through several contexts, so a kept one
	// stays stale while the next calls run; a short wait after each call
	// tells which call left a context behind.
	run(c, p, workload(), func(k call, _ error) {
		time.Sleep(10 * time.Millisecond)
		note(k.cb.String())
	})
	c.at("while waiting for late uses of contexts")
	quiesce(before, counted)
	note("the last call")
	s := p.Stats()
	_ = closeAt(c, p)
	if n := s.StaleLogs + s.StaleEvents; n > 0 {
		return fail("a context was used after its callback returned (%s, %s; first seen after %s): copy what you need and never keep ctx; threads may use it only while the callback runs",
			plural(int(s.StaleLogs), "log call", "log calls"), plural(int(s.StaleEvents), "send_event call", "send_event calls"), firstAfter)
	}
	return pass("no context was used after its callback returned")
}

func checkUnloadOnce(c *cenv) childResult {
	threadsBefore, counted := threads.Foreign()
	p, err := c.open()
	if err != nil {
		return loadErr(err)
	}
	run(c, p, workload(), nil)
	// Late uses of earlier contexts are context.stale's; let them land first.
	quiesce(threadsBefore, counted)
	before := p.Stats()
	if err := closeAt(c, p); err != nil {
		return fail("closing failed: %v", err)
	}
	c.at("after close")
	quiesce(threadsBefore, counted)
	after := p.Stats()
	logs, evs := after.StaleLogs-before.StaleLogs, after.StaleEvents-before.StaleEvents
	if logs+evs > 0 {
		return fail("a context was used after on_unload returned (%s, %s): stop and join your threads in on_unload, and use no context after it returns",
			plural(int(logs), "log call", "log calls"), plural(int(evs), "send_event call", "send_event calls"))
	}
	if p.Has(abi.OnUnload) {
		return pass("on_unload ran once; no context was used after it")
	}
	return pass("no context was used after close (on_unload is not set)")
}

func checkReopen(c *cenv) childResult {
	p, err := c.open()
	if err != nil {
		return loadErr(err)
	}
	run(c, p, workload(), nil)
	_ = closeAt(c, p)
	c.at("on_load (second open)")
	p2, err := c.open()
	if err != nil {
		if clawerr.CodeOf(err) == clawerr.OnLoadFailed {
			return fail("the second open failed: %s: undo in on_unload what on_load set up; the library may stay mapped between opens", onLoadFailure(err))
		}
		return fail("the second open failed: %v", err)
	}
	run(c, p2, workload(), nil)
	_ = closeAt(c, p2)
	return pass("opened, closed and opened again")
}

func checkThreads(c *cenv) childResult {
	before, ok := threads.Foreign()
	if !ok {
		return skip("counting threads needs /proc/self/task and Go's thread metric (Linux)")
	}
	p, err := c.open()
	if err != nil {
		return loadErr(err)
	}
	run(c, p, workload(), nil)
	_ = closeAt(c, p)
	c.at("while waiting for the plugin's threads to end")
	extra := 0
	for deadline := time.Now().Add(10 * settle); ; time.Sleep(5 * time.Millisecond) {
		if n, ok := threads.Foreign(); ok {
			extra = n - before
		}
		if extra <= 0 || time.Now().After(deadline) {
			break
		}
	}
	if extra > 0 {
		return warn("%s the plugin started still running after close: stop and join them in on_unload (a thread running in an unloaded library crashes the host)",
			plural(extra, "thread", "threads"))
	}
	return pass("no thread left running after close")
}

func checkLogLevels(c *cenv) childResult {
	logs := c.observe()
	// Relay granted, so that a refused event means bad arguments (below).
	p, err := c.open(clawd.WithCapabilities(abi.CapNetworkRelay))
	if err != nil {
		return loadErr(err)
	}
	run(c, p, workload(), nil)
	_ = closeAt(c, p)
	unknown := map[uint64]int{}
	for _, e := range logs.All() {
		if _, mine := e.ContextMap()["plugin"]; !mine {
			continue
		}
		// The loader adds the raw level to a line whose level ABI v1 does
		// not define.
		for _, f := range e.Context {
			if f.Key == "level" && uint64(f.Integer) > uint64(cabi.LogError) {
				unknown[uint64(f.Integer)]++
			}
		}
	}
	s := p.Stats()
	// With relay granted and a sink that accepts everything, a refused
	// event was refused for its arguments (or nesting, counted apart).
	badLogs := int(s.InvalidArgs) - sendArgProblems(s)
	var problems []string
	if len(unknown) > 0 {
		lv := make([]uint64, 0, len(unknown))
		for l := range unknown {
			lv = append(lv, l)
		}
		sort.Slice(lv, func(i, j int) bool { return lv[i] < lv[j] })
		var parts []string
		for _, l := range lv {
			parts = append(parts, fmt.Sprintf("level %d (%s)", l, plural(unknown[l], "time", "times")))
		}
		problems = append(problems, "log called with "+strings.Join(parts, ", "))
	}
	if badLogs > 0 {
		problems = append(problems, plural(badLogs, "log message was", "log messages were")+" NULL or not UTF-8")
	}
	if len(problems) > 0 {
		return fail("%s: use the levels CLAWA_LOG_TRACE (0) to CLAWA_LOG_ERROR (4) and NUL-terminated UTF-8 messages", strings.Join(problems, "; "))
	}
	return pass("every log call used a level 0 to 4 and a valid message")
}

func sendArgProblems(s clawd.Stats) int {
	return int(s.EventsRefused) - int(s.DepthExceeded) - int(s.Panics)
}

func checkParams(c *cenv) childResult {
	// Relay is granted whatever the manifest says: without it send_event
	// is refused before its arguments are looked at (context.relay's
	// business).
	p, err := c.open(clawd.WithCapabilities(abi.CapNetworkRelay))
	if err != nil {
		return loadErr(err)
	}
	run(c, p, workload(), nil)
	_ = closeAt(c, p)
	s := p.Stats()
	if n := sendArgProblems(s); n > 0 {
		return fail("send_event was refused %s for its arguments: pass a non-empty UTF-8 method and params_json that is one JSON object ({...}), never NULL",
			plural(n, "time", "times"))
	}
	if s.EventsSent == 0 {
		return pass("the plugin sent no events")
	}
	return pass("%s sent, each with a method and a JSON object", plural(int(s.EventsSent), "event", "events"))
}

func checkRelay(c *cenv) childResult {
	if c.relay() {
		return pass("the manifest asks for network.relay")
	}
	p, err := c.open()
	if err != nil {
		return loadErr(err)
	}
	run(c, p, workload(), nil)
	_ = closeAt(c, p)
	if n := p.Stats().EventsRefused; n > 0 {
		return fail("the plugin called send_event %s, but its manifest does not ask for network.relay, so every event is refused: add \"network.relay\" to capabilities, or send no events",
			plural(int(n), "time", "times"))
	}
	return pass("no send_event without network.relay")
}

func checkSignals(c *cenv) childResult {
	if !sigaction.Supported {
		return skip("signal actions are read on Linux only")
	}
	before := sigaction.Save()
	defer before.Restore() // the plugin's handlers must not outlive the check
	c.at(probeSteps[0].where)
	// No guard here: the point is to see what the plugin changes.
	lib, err := dl.Open(c.spec.Lib)
	if err != nil {
		return loadErr(clawerr.New(clawerr.OpenFailed, c.spec.Lib, "open", "", err))
	}
	defer dl.Close(lib)
	fn, err := dl.Sym(lib, abi.InitSymbol)
	if err != nil || fn == 0 {
		return skip("plugin does not load: %s", clawerr.MissingInit)
	}
	c.at(abi.InitSymbol)
	addr := vtable.CallInit(fn)
	t, err := vtable.Read(addr, c.spec.Lib)
	if err != nil {
		return loadErr(err)
	}
	if onLoad := t.Callbacks[abi.OnLoad]; onLoad != 0 {
		c.at("on_load")
		b := clawctx.NewBinding(clawctx.Config{Name: t.Name, Version: t.Version, Relay: c.relay(),
			Sink: clawd.SinkFunc(func(context.Context, clawd.Event) error { return nil })})
		call, err := b.Acquire()
		if err != nil {
			return fail("no context memory: %v", err)
		}
		call.Begin(context.Background())
		r := vtable.Call0(onLoad, call.Addr())
		call.Release()
		if r != 0 {
			return loadErr(clawerr.New(clawerr.OnLoadFailed, t.Name, "on_load", "", abi.Code(r).Err()))
		}
	}
	changed := before.Diff(sigaction.Save())
	before.Restore()
	if len(changed) == 0 {
		return pass("signal actions unchanged by dlopen, %s and on_load", abi.InitSymbol)
	}
	var parts []string
	noStack := false
	for _, s := range changed {
		if s.NoStack {
			parts = append(parts, s.Name+" (a handler without SA_ONSTACK)")
			noStack = true
		} else {
			parts = append(parts, s.Name)
		}
	}
	msg := "the plugin changed the action of " + strings.Join(parts, ", ") + ": leave signal handling to the host"
	if noStack {
		msg += "; a handler without SA_ONSTACK aborts a Go host on the next signal"
	}
	return fail("%s", msg)
}

// processState is what hygiene.cwd_env_umask compares.
type processState struct {
	cwd   string
	env   []string
	envOK bool
	umask int
	umOK  bool
}

func readProcessState() processState {
	var s processState
	s.cwd, _ = os.Getwd()
	s.env, s.envOK = cEnviron()
	s.umask, s.umOK = umask()
	return s
}

func checkProcessState(c *cenv) childResult {
	before := readProcessState()
	p, err := c.open()
	if err != nil {
		return loadErr(err)
	}
	run(c, p, workload(), nil)
	_ = closeAt(c, p)
	after := readProcessState()
	var problems []string
	if before.cwd != after.cwd {
		problems = append(problems, fmt.Sprintf("the working directory (%s, then %s)", before.cwd, after.cwd))
	}
	if before.envOK && after.envOK {
		if d := envDiff(before.env, after.env); d != "" {
			problems = append(problems, "the environment ("+d+")")
		}
	}
	if before.umOK && after.umOK && before.umask != after.umask {
		problems = append(problems, fmt.Sprintf("the umask (%#o, then %#o)", before.umask, after.umask))
	}
	if len(problems) > 0 {
		return fail("the plugin changed %s: this state is the host's and every plugin's; use absolute paths and pass settings explicitly instead", strings.Join(problems, ", "))
	}
	checked := "working directory"
	if before.envOK {
		checked += ", environment"
	}
	if before.umOK {
		checked += ", umask"
	}
	return pass("%s unchanged", checked)
}

// envDiff names the variables that differ, without their values (which
// may be secrets).
func envDiff(before, after []string) string {
	index := func(env []string) map[string]string {
		m := make(map[string]string, len(env))
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		return m
	}
	b, a := index(before), index(after)
	var set, unset []string
	for k, v := range a {
		if old, ok := b[k]; !ok || old != v {
			set = append(set, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			unset = append(unset, k)
		}
	}
	sort.Strings(set)
	sort.Strings(unset)
	var parts []string
	if len(set) > 0 {
		parts = append(parts, "set "+strings.Join(set, ", "))
	}
	if len(unset) > 0 {
		parts = append(parts, "unset "+strings.Join(unset, ", "))
	}
	return strings.Join(parts, "; ")
}

// checkStdout runs the plugin; the parent looks at what reached stdout.
func checkStdout(c *cenv) childResult {
	p, err := c.open()
	if err != nil {
		flushStdio()
		return loadErr(err)
	}
	run(c, p, workload(), nil)
	_ = closeAt(c, p)
	flushStdio()
	return pass("nothing written to stdout")
}

func checkConcurrency(c *cenv) childResult {
	p, err := c.open(clawd.WithConcurrent(true))
	if err != nil {
		return loadErr(err)
	}
	const workers, rounds = 4, 25
	c.at(fmt.Sprintf("concurrent calls from %d threads", workers))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				for _, k := range workload() {
					if !p.Has(k.cb) {
						continue
					}
					k.args[0] = fmt.Sprintf("conformance-session-%d", w)
					err := k.do(p)
					c.faulted(k.label, err)
					if code, ok := returned(err); ok && !abi.Code(code).Known() {
						mu.Lock()
						bad = append(bad, fmt.Sprintf("%s returned %d", k.cb, code))
						mu.Unlock()
					}
				}
			}
		}(w)
	}
	wg.Wait()
	_ = closeAt(c, p)
	if len(bad) > 0 {
		return fail("under concurrent calls %s: make every callback safe to run on several threads at once, or drop concurrent = true", bad[0])
	}
	return pass("%d threads x %d rounds of calls", workers, rounds)
}

func checkLoadTime(c *cenv) childResult {
	budget := c.spec.budget(c.spec.LoadBudget, loadBudget)
	best := time.Duration(0)
	for attempt := 0; attempt < 2; attempt++ {
		c.at("on_load")
		start := time.Now()
		p, err := c.open()
		took := time.Since(start)
		if err != nil {
			if attempt > 0 {
				break // a plugin that cannot reopen: reopen's business
			}
			return loadErr(err)
		}
		_ = closeAt(c, p)
		if attempt == 0 || took < best {
			best = took
		}
		if best < budget {
			return pass("open + on_load took %s", round(best))
		}
		// Over budget: measure once more, in case the machine was busy.
	}
	return warn("open + on_load took %s (budget %s): defer slow set-up until it is needed, or do it on a thread of your own", round(best), budget)
}

func checkCallbackTime(c *cenv) childResult {
	budget := c.spec.budget(c.spec.CallbackBudget, callbackBudget)
	p, err := c.open()
	if err != nil {
		return loadErr(err)
	}
	best := map[abi.Callback]time.Duration{}
	var order []abi.Callback
	for i := 0; i < timedCalls; i++ {
		for _, k := range workload() {
			if !p.Has(k.cb) {
				continue
			}
			c.at(k.label)
			start := time.Now()
			c.faulted(k.label, k.do(p))
			took := time.Since(start)
			if d, seen := best[k.cb]; !seen || took < d {
				if !seen {
					order = append(order, k.cb)
				}
				best[k.cb] = took
			}
		}
	}
	_ = closeAt(c, p)
	var slow []string
	for _, cb := range order {
		if best[cb] > budget {
			slow = append(slow, fmt.Sprintf("%s took %s", cb, round(best[cb])))
		}
	}
	if len(slow) > 0 {
		return warn("%s (the fastest of %d calls; budget %s): the host waits for every callback; hand slow work to a thread of your own",
			strings.Join(slow, ", "), timedCalls, budget)
	}
	return pass("every event callback took under %s", budget)
}

func round(d time.Duration) time.Duration {
	if d > time.Millisecond {
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func parseKeys(b64 []string) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for _, s := range b64 {
		k, err := sigkey.ParsePublicKey(s)
		if err != nil {
			return nil, fmt.Errorf("a trusted key does not parse: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func wellFormedSignature(s string) bool {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	return err == nil && len(sig) == ed25519.SignatureSize
}
