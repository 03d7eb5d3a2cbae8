package isolate

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/boundary"
	"github.com/clawd-go/clawd/internal/child"
	"github.com/clawd-go/clawd/internal/contain"
	"github.com/clawd-go/clawd/internal/hook"
)

// Why the host killed a child; the first reason wins.
const (
	killNone int32 = iota
	killTimeout
	killProtocol
	killClose
	killLost
)

// proc is one child process and the host's ends of its channels.
type proc struct {
	cmd            *exec.Cmd
	callW, callR   *os.File  // owned by whoever holds plugin.mu
	asyncW, asyncR *os.File  // owned by the async goroutine
	asyncRd        *fdReader // the async channel's reader (the async goroutine's)
	// liveUntil is the async stream offset below which a frame was sent
	// while a call ran (see endCall): a later one is stale.
	liveUntil atomic.Uint64
	// asyncRMu guards asyncR's closing by the async goroutine against
	// endCall's question to it: a closed descriptor's number may be reused.
	asyncRMu       sync.Mutex
	asyncRGone     bool
	rd             *fdReader
	stdout, stderr *child.Tail
	exited         chan struct{} // closed once the child was reaped (and its cgroup removed)
	dead           chan struct{} // closed once the child exited, before it is reaped
	tree           *contain.Tree // its pids cgroup; nil if none
	reason         atomic.Int32
	asyncMu        sync.Mutex // asyncW
	// What the host's sink did with this child's events: the child's own
	// counters die with it, and a crash comes before anyone asked for them.
	sinkSent, sinkRefused atomic.Uint64
	floors                []*os.File // benchmark: the raw echo channels, host ends
}

// kill ends the child and everything in its process group.
func (pr *proc) kill(reason int32) {
	pr.reason.CompareAndSwap(killNone, reason)
	select {
	case <-pr.exited: // reaped: its group id may belong to another process now
	default:
		contain.KillGroup(pr.cmd)
		pr.tree.Kill()
	}
}

func (pr *proc) closeCall() {
	pr.callW.Close()
	pr.callR.Close()
	for _, f := range pr.floors {
		f.Close()
	}
}

func (p *plugin) resolveExecutable() error {
	if p.o.exe != "" {
		p.exe = p.o.exe
		return nil
	}
	if !mainCalled.Load() {
		return clawerr.New(clawerr.OpenFailed, p.path, "open",
			"this program cannot serve as its own sandbox child: call isolate.Main first thing in main, "+
				"or name a program that does with isolate.WithExecutable (clawd-plugin does)", nil)
	}
	exe, err := os.Executable()
	if err != nil {
		return clawerr.New(clawerr.OpenFailed, p.path, "open", "cannot find this program to run it as the sandbox child", err)
	}
	p.exe = exe
	return nil
}

func (p *plugin) makePolicy() contain.Policy {
	return contain.Sandbox{
		Library: p.path, PluginDir: p.o.PluginDir, ProjectDir: p.o.ProjectDir, Capabilities: p.o.Capabilities,
		AddressSpace: p.o.limits.AddressSpace, CPUTime: p.o.limits.CPUTime,
		MaxProcesses: p.o.maxProcesses(), NoLandlock: p.o.noLandlock, Env: p.o.Env,
	}.Policy()
}

// spawn starts a child with its channels; it does not wait for its hello.
func (p *plugin) spawn() (*proc, error) {
	var hostEnds, childEnds []*os.File
	closeAll := func() {
		for _, f := range append(hostEnds, childEnds...) {
			f.Close()
		}
	}
	for i := 0; i < 4; i++ {
		r, w, err := pipe()
		if err != nil {
			closeAll()
			return nil, err
		}
		if i%2 == 0 { // host -> child
			hostEnds, childEnds = append(hostEnds, w), append(childEnds, r)
		} else {
			hostEnds, childEnds = append(hostEnds, r), append(childEnds, w)
		}
	}
	pr := &proc{
		callW: hostEnds[0], callR: hostEnds[1], asyncW: hostEnds[2], asyncR: hostEnds[3],
		stdout: child.NewTail(child.DefaultTailBytes), stderr: child.NewTail(child.DefaultTailBytes),
		exited: make(chan struct{}), dead: make(chan struct{}),
	}
	if p.o.floors > 0 && benchFloor != nil {
		fl, cl, err := benchFloor.files()
		if err != nil {
			closeAll()
			return nil, err
		}
		pr.floors, childEnds = fl, append(childEnds, cl...)
	}
	cmd, tree, err := child.Command(p.exe, []string{"clawd-sandbox", p.path}, nil, roleSandbox, childSpec{
		Path:         p.path,
		Source:       p.o.Source,
		Capabilities: p.o.Capabilities,
		LogLevel:     int8(zapcore.LevelOf(p.o.Logger.Core())),
		Floor:        len(pr.floors),
		Handles:      child.Handles(childEnds),
	}, &p.policy, childEnds...)
	if err != nil {
		closeAll()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = pr.stdout, io.MultiWriter(pr.stderr, &stderrLines{p: p})
	// A grandchild outside the group may hold stdout; do not wait for it.
	cmd.WaitDelay = time.Second
	if err := contain.Start(cmd); err != nil {
		tree.Release()
		closeAll()
		contain.Cleanup(cmd)
		return nil, err
	}
	// The host keeps its own copy of the child's write ends (fdCallOut,
	// fdAsyncOut), for the wake-up frame; the read ends stay with the child.
	wakes := []*os.File{childEnds[fdCallOut-3], childEnds[fdAsyncOut-3]}
	for i, f := range childEnds {
		if i != fdCallOut-3 && i != fdAsyncOut-3 {
			f.Close()
		}
	}
	pr.cmd, pr.tree = cmd, tree
	pr.rd = newReader(pr.callR.Fd())
	pr.asyncRd = newReader(pr.asyncR.Fd())
	pr.rd.dead = pr.dead
	go func() {
		// Learn of the death from the process, not from the pipes: a
		// descendant may hold them open. The wake-up frame then ends a
		// read blocked in the kernel on the call or the async channel.
		reap(cmd, func() {
			close(pr.dead)
			go wake(wakes)
		})
		tree.Release()
		contain.Cleanup(cmd) // the private home goes with the child
		close(pr.exited)
	}()
	go p.asyncLoop(pr)
	return pr, nil
}

// wake writes one wake-up frame into each of the host's copies of the
// child's write ends and closes them. A write blocks only while the pipe is
// full; closing the read end (closeCall, asyncLoop) ends it.
func wake(ends []*os.File) {
	var h [headerSize]byte
	putHeader(h[:], kWake, 0, 0)
	for _, f := range ends {
		writeAll(f.Fd(), h[:])
		f.Close()
	}
}

// start spawns a child and waits for its hello.
func (p *plugin) start() (*proc, *hello, error) {
	p.beginCall() // on_load runs: the plugin's threads may already log
	pr, err := p.spawn()
	if err != nil {
		p.calling.Add(-1)
		return nil, nil, clawerr.New(clawerr.OpenFailed, p.path, "open", "cannot start the sandbox child", err)
	}
	t := time.AfterFunc(p.o.openTimeout, func() { pr.kill(killTimeout) })
	k, body, err := p.await(context.Background(), pr, kHello)
	p.endCall(pr)
	t.Stop()
	if err == nil && k == kOpenFailed {
		var w wireError
		if json.Unmarshal(body, &w) != nil || w.Code == "" {
			w = wireError{Code: clawerr.OpenFailed, Detail: "the child refused the plugin without saying why"}
		}
		pr.kill(killClose)
		<-pr.exited
		pr.closeCall()
		var cause error
		if w.Cause != "" {
			cause = errors.New(w.Cause)
		}
		if w.Plugin == "" {
			w.Plugin = p.path
		}
		return nil, nil, clawerr.New(w.Code, w.Plugin, w.Op, w.Detail, cause)
	}
	var h hello
	if err == nil {
		if jerr := json.Unmarshal(body, &h); jerr != nil {
			err = frameError(kHello, jerr.Error())
		}
	}
	if err != nil {
		e := p.failure(pr, "open", err, pr.reason.Load() == killTimeout, p.o.openTimeout, nil)
		pr.closeCall()
		return nil, nil, e
	}
	p.setIdent(&h)
	return pr, &h, nil
}

// lost handles a call whose child died, hung or broke the protocol: it makes
// sure the child is gone, marks the plugin down and says why.
func (p *plugin) lost(pr *proc, op string, cause error, expired bool, ctx context.Context) error {
	d := p.o.CallTimeout
	if dl, ok := ctx.Deadline(); ok && (d == 0 || time.Until(dl) < d) {
		d = 0 // the context's own deadline: say so by its error
	}
	err := p.failure(pr, op, cause, expired, d, ctx.Err())
	p.down(pr, err)
	return err
}

// failure kills what is left of the child, waits for it and describes how
// it ended.
func (p *plugin) failure(pr *proc, op string, cause error, expired bool, timeout time.Duration, ctxErr error) error {
	if errors.Is(cause, errProtocol) {
		pr.kill(killProtocol)
	} else {
		pr.kill(killLost)
	}
	<-pr.exited
	name := p.name()
	if expired || pr.reason.Load() == killTimeout {
		detail := "the plugin did not answer in time; its process was killed"
		switch {
		case errors.Is(ctxErr, context.Canceled):
			detail = "the call was cancelled; the plugin's process was killed"
		case timeout > 0:
			detail = fmt.Sprintf("the plugin did not answer within %s; its process was killed", timeout)
		}
		return clawerr.New(clawerr.Timeout, name, op, detail, ctxErr)
	}
	res := child.Result{Status: child.Crashed, ExitCode: -1, Stderr: pr.stderr.String()}
	if ps := pr.cmd.ProcessState; ps != nil {
		res.ExitCode = ps.ExitCode()
		res.Signal = child.ExitSignal(ps)
		if lim := p.o.limits.CPUTime; lim > 0 && ps.UserTime()+ps.SystemTime() >= lim-time.Second {
			res.Stderr = strings.TrimSpace(res.Stderr + "\n[the plugin reached its CPU time limit of " + lim.String() + "]")
		}
	}
	if res.Signal == "" {
		res.Signal = pr.stderr.Signal()
	}
	err := res.Err(name, op)
	if errors.Is(cause, errProtocol) {
		var ce *clawerr.Error
		if errors.As(err, &ce) {
			ce.Detail = "the plugin's process broke the protocol (" + cause.Error() + "); " + ce.Detail
		}
	}
	return err
}

// down takes a lost child out of service and schedules its restart. The
// caller holds mu.
func (p *plugin) down(pr *proc, why error) {
	p.pr = nil
	p.cur.Store(nil)
	pr.closeCall()
	p.statsMu.Lock() // what the lost child was last seen to have done
	p.base = boundary.AddStats(p.base, lostStats(p.live, pr))
	p.live = clawd.Stats{}
	p.statsMu.Unlock()
	p.crashes.Add(1)
	p.why.Store(&why)
	p.state.Store(int32(clawd.StateDown))
	p.id.Load().log.Warn("the plugin's process is down", zap.Error(why))
	p.states.Report(clawd.StateDown, why)
	select {
	case <-p.closing:
		return
	default:
	}
	p.wg.Add(1)
	go p.restart(p.streak)
}

// restart starts a new child after a pause that doubles with each
// consecutive failure, or gives up after maxRestarts in a row.
func (p *plugin) restart(n int) {
	defer p.wg.Done()
	for {
		if n >= p.o.maxRestarts {
			p.state.CompareAndSwap(int32(clawd.StateDown), int32(clawd.StateFailed))
			why := *p.why.Load()
			p.id.Load().log.Error("the plugin's process is not restarted any more", zap.Int("restarts_in_a_row", n), zap.Error(why))
			p.states.Report(clawd.StateFailed, why)
			return
		}
		pause := p.o.backoff << n
		if pause > p.o.maxBackoff || pause <= 0 {
			pause = p.o.maxBackoff
		}
		n++
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-p.closing:
			t.Stop()
			return
		}
		pr, _, err := p.start()
		if err != nil {
			p.why.Store(&err)
			p.id.Load().log.Warn("restarting the plugin's process failed", zap.Int("attempt", n), zap.Error(err))
			continue
		}
		p.lock.LockPlain()
		select {
		case <-p.closing:
			p.lock.Unlock()
			pr.kill(killClose)
			<-pr.exited
			pr.closeCall()
			return
		default:
		}
		p.pr = pr
		p.cur.Store(pr)
		p.streak = n
		p.state.Store(int32(clawd.StateUp))
		p.lock.Unlock()
		p.restarts.Add(1)
		p.id.Load().log.Info("the plugin's process was restarted", zap.Int("attempt", n))
		p.states.Report(clawd.StateUp, nil)
		return
	}
}

// asyncLoop serves the async channel of one child: logs and events from
// the plugin's own threads. It owns the async descriptors.
func (p *plugin) asyncLoop(pr *proc) {
	defer func() {
		pr.asyncRMu.Lock() // endCall may be asking the pipe how much it holds
		pr.asyncR.Close()
		pr.asyncRGone = true
		pr.asyncRMu.Unlock()
	}()
	defer pr.asyncW.Close()
	rd := pr.asyncRd
	rd.dead = pr.dead
	for {
		k, _, body, err := rd.next()
		if err != nil {
			return
		}
		// A plugin thread may use a context only while its callback runs, as
		// in process: what it sends outside every call is stale, whatever the
		// child's own loader (in the plugin's address space) decided.
		live := p.calling.Load() > 0 || rd.start < pr.liveUntil.Load()
		switch k {
		case kLog:
			if !live {
				p.host.StaleLogs.Add(1)
				break
			}
			err = p.emit(body)
		case kIdent:
			err = p.ident(body)
		case kEvent:
			e, code, derr := p.decodeEvent(context.Background(), body) // outside a call: no call context
			if err = derr; err != nil {
				break
			}
			seq := binary.LittleEndian.Uint32(body)
			switch {
			case code != 0:
			case hook.Reserved(e.Method): // from a plugin thread: never a verdict
				p.host.HookRefused.Add(1)
				if !live {
					p.host.StaleEvents.Add(1)
				}
				code = abi.NotFound
			case !live:
				p.host.StaleEvents.Add(1)
				code = abi.DaemonError
			default:
				code = abi.Code(p.deliver(context.Background(), pr, e))
			}
			var r [headerSize + 8]byte
			putHeader(r[:], kReply, 0, 8)
			binary.LittleEndian.PutUint32(r[8:], seq)
			binary.LittleEndian.PutUint32(r[12:], uint32(code))
			pr.asyncMu.Lock()
			err = writeAll(pr.asyncW.Fd(), r[:])
			pr.asyncMu.Unlock()
			if err != nil {
				return
			}
		default:
			err = frameError(k, "unexpected on the async channel")
		}
		if err != nil {
			p.id.Load().log.Warn("the plugin's process broke the protocol; it is killed", zap.Error(err))
			pr.kill(killProtocol)
			return
		}
	}
}

// lostStats is what a child that is gone did: what it said when last
// asked, its events at least as many as the host's sink saw from it (it
// counts those too, so the larger number is the one).
func lostStats(last clawd.Stats, pr *proc) clawd.Stats {
	last.EventsSent = max(last.EventsSent, pr.sinkSent.Load())
	last.EventsRefused = max(last.EventsRefused, pr.sinkRefused.Load())
	return last
}

// Stats returns the counters of the plugin's contexts, summed over its
// children (of a child that crashed, what it had done when last asked,
// with every event the sink took from it).
func (p *plugin) Stats() clawd.Stats {
	if p.reentered() {
		p.statsMu.Lock()
		defer p.statsMu.Unlock()
		return p.withHost(p.base)
	}
	// A call in flight holds the lock, and its sink may be waiting for whoever
	// asks for stats (a registry snapshot under the host's lock): never
	// wait for it; give the last counts instead.
	if !p.lock.TryLock() {
		p.statsMu.Lock()
		defer p.statsMu.Unlock()
		return p.withHost(boundary.AddStats(p.base, p.live))
	}
	defer p.lock.Unlock()
	p.statsMu.Lock()
	s := p.base
	p.statsMu.Unlock()
	pr := p.pr
	if pr == nil {
		return p.withHost(s)
	}
	var h [headerSize]byte
	putHeader(h[:], kStats, 0, 0)
	err := writeAll(pr.callW.Fd(), h[:])
	var body []byte
	if err == nil {
		_, body, err = p.await(context.Background(), pr, kStatsReply)
	}
	var live clawd.Stats
	if err == nil {
		err = json.Unmarshal(body, &live)
	}
	if err != nil {
		p.lost(pr, "stats", err, false, context.Background())
		return p.withHost(s)
	}
	p.statsMu.Lock()
	p.live = live
	p.statsMu.Unlock()
	return p.withHost(boundary.AddStats(s, live))
}

// withHost adds what the host itself refused to what the children counted.
func (p *plugin) withHost(s clawd.Stats) clawd.Stats {
	return boundary.AddStats(s, p.host.Snapshot())
}

// Close asks the child to run on_unload and exit, waits for it (killing it
// after the close timeout) and stops restarting it. Later calls return the
// first Close's result; calls after it return closed. Calling Close from
// inside the plugin's own send_event is an error (invalid_argument).
func (p *plugin) Close() error {
	if p.reentered() {
		return clawerr.New(clawerr.InvalidArgument, p.name(), "close", "Close called from inside the plugin's own send_event", nil)
	}
	p.closeOnce.Do(func() { p.closeErr = p.close() })
	return p.closeErr
}

func (p *plugin) close() error {
	close(p.closing)
	p.lock.LockPlain()
	p.state.Store(int32(clawd.StateClosed))
	pr := p.pr
	p.pr = nil
	p.cur.Store(nil)
	var err error
	if pr != nil {
		err = p.closeChild(pr)
	}
	p.lock.Unlock()
	p.wg.Wait()
	p.states.Close() // after every goroutine that reports
	return err
}

func (p *plugin) closeChild(pr *proc) error {
	t := time.AfterFunc(p.o.closeTimeout, func() { pr.kill(killTimeout) })
	defer t.Stop()
	var h [headerSize]byte
	putHeader(h[:], kClose, 0, 0)
	p.beginCall() // on_unload runs
	err := writeAll(pr.callW.Fd(), h[:])
	var body []byte
	if err == nil {
		_, body, err = p.await(context.Background(), pr, kClosed)
	}
	p.endCall(pr)
	var c closed
	if err == nil {
		err = json.Unmarshal(body, &c)
	}
	if err != nil {
		e := p.failure(pr, "on_unload", err, false, p.o.closeTimeout, nil)
		pr.closeCall()
		return e
	}
	p.statsMu.Lock()
	p.base = boundary.AddStats(p.base, c.Stats)
	p.live = clawd.Stats{}
	p.statsMu.Unlock()
	select { // it exits by itself; do not wait long for one that does not
	case <-pr.exited:
	case <-time.After(2 * time.Second):
		pr.kill(killClose)
		<-pr.exited
	}
	pr.closeCall()
	if c.Err == nil {
		return nil
	}
	var cause error
	if c.Err.Cause != "" {
		cause = errors.New(c.Err.Cause)
	}
	return clawerr.New(c.Err.Code, p.name(), c.Err.Op, c.Err.Detail, cause)
}

// beginCall opens the window in which the plugin's threads may log and send
// (the async channel): a call, the hello or the close is under way.
func (p *plugin) beginCall() { p.calling.Add(1) }

// endCall closes it. What the child wrote to the async channel before the
// exchange ended (a plugin thread's send while the callback ran) may not be
// read yet: the reader's offset plus what the pipe still holds marks the
// end of what counts as live. The pipe is read first, so a read that
// happens in between can only widen the window, never cut a frame of the
// call off.
func (p *plugin) endCall(pr *proc) {
	end := uint64(math.MaxUint64) // unknown here: the child's loader judges, as before
	pr.asyncRMu.Lock()
	if !pr.asyncRGone {
		if n, err := pending(pr.asyncR.Fd()); err == nil {
			end = pr.asyncRd.got.Load() + uint64(n)
		}
	}
	pr.asyncRMu.Unlock()
	for {
		cur := pr.liveUntil.Load()
		if end <= cur || pr.liveUntil.CompareAndSwap(cur, end) {
			break
		}
	}
	p.calling.Add(-1)
}
