// Package child runs a helper process that does something risky (open a
// plugin, call it) and reports one result back, so that a crash, an exit or
// a hang in the helper cannot take the caller down.
//
// The result travels over a dedicated pipe, never the child's stdout: a
// plugin may print anything to stdout, including text that looks like a
// reply. The pipe is fd 3 on Unix (os/exec ExtraFiles) and an inherited
// handle on Windows; the child learns which from its hand-off and writes
// with Report. stdout and stderr are captured separately, keeping only
// their last TailBytes.
//
// # One hand-off
//
// Every child process of this module (isolate's sandbox server, inspect's
// child, each conformance check) is the host's program run again, and is
// told what to do by one environment variable, Env, holding one JSON
// Handoff: the role and its arguments, the result pipe, and contain's
// Stage (the containment policy and the host's pid; in the second image,
// the Report of what was applied). Main, called first in main, reads it,
// confines the process and runs the role; the package that owns a role
// registers it (Register).
//
// Run classifies the outcome:
//
//   - OK: the child reported a result and exited with status 0;
//   - Crashed: it exited with another status, died of a signal, or exited
//     without a result (a plugin calling exit(0) in its init looks like this);
//   - TimedOut: it was still running after Spec.Timeout and was killed,
//     with its whole process group on Unix (and its PID namespace and
//     pids cgroup, when confined on Linux).
//
// A Go child that faults inside C code does not die of the signal: the Go
// runtime prints a crash report ("SIGSEGV: segmentation violation", then a
// goroutine dump) and exits with status 2. Run reads the signal from that
// report, and keeps the report's header but not its dump in the stderr tail.
package child

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/contain"
)

// Defaults for Spec.
const (
	DefaultTailBytes = 4 << 10
	DefaultMaxResult = 16 << 20
)

// Status is how a child ended.
type Status int

// The outcomes Run tells apart.
const (
	OK Status = iota
	Crashed
	TimedOut
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Crashed:
		return "crashed"
	case TimedOut:
		return "timeout"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Spec describes the child to run.
type Spec struct {
	Path      string        // executable: a program whose main calls Main first
	Args      []string      // arguments after argv[0] (a hint for ps; Main goes by the hand-off)
	Role      string        // the role the child plays (Register)
	RoleArgs  any           // the role's arguments, encoded as JSON; nil: none
	Env       []string      // nil: this process's environment; the hand-off (Env) is added
	Dir       string        // working directory; "" inherits ours
	Timeout   time.Duration // 0: no limit but ctx's
	TailBytes int           // how much of stdout and stderr to keep; 0: DefaultTailBytes
	MaxResult int           // bound on the result; 0: DefaultMaxResult
	// Contain confines the child before its role runs (internal/contain,
	// applied by Main). nil: the child only gets its own process group and
	// dies with this process.
	Contain *contain.Policy
}

// Result is what Run saw.
type Result struct {
	Status   Status
	Payload  []byte // the child's report, without the trailing newline; nil if none
	ExitCode int    // -1 if the child did not exit normally
	Signal   string // "SIGSEGV", ... from the wait status or the Go runtime's report
	Stdout   string // last TailBytes of stdout, cut to whole lines
	Stderr   string // same for stderr
	Duration time.Duration
	timeout  time.Duration
}

// Run starts the child, waits for it (at most s.Timeout) and classifies the
// outcome. The error is non-nil only when the child could not be started or
// ctx was cancelled; a crash or a timeout is a Result.
func Run(ctx context.Context, s Spec) (*Result, error) {
	if s.TailBytes <= 0 {
		s.TailBytes = DefaultTailBytes
	}
	if s.MaxResult <= 0 {
		s.MaxResult = DefaultMaxResult
	}
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if s.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, s.Timeout)
	}
	defer cancel()

	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()

	cmd, tree, err := command(s.Path, s.Args, s.Env, Handoff{Role: s.Role, Result: pipeRef(w)}, s.RoleArgs, s.Contain,
		func(cmd *exec.Cmd) { attachPipe(cmd, w) })
	if err != nil {
		w.Close()
		return nil, err
	}
	defer tree.Release()
	defer contain.Cleanup(cmd) // the private home, if the policy asked for one
	cmd.Dir = s.Dir
	stdout, stderr := newTail(s.TailBytes), newTail(s.TailBytes)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A grandchild the plugin forked may keep stdout or stderr open; do not
	// wait for it forever once the child itself is gone.
	cmd.WaitDelay = time.Second

	start := time.Now()
	// From contain's spawner thread: the parent-death signal follows this
	// process, not the thread that happened to fork.
	if err := contain.Start(cmd); err != nil {
		w.Close()
		return nil, err
	}
	w.Close() // the child holds the only write end now: EOF when it exits

	payload := make(chan []byte, 1)
	go func() { payload <- readReport(r, s.MaxResult) }()

	// The deadline or a cancellation kills the child, its group and its tree.
	reaped := make(chan struct{})
	go func() {
		select {
		case <-runCtx.Done():
			contain.KillGroup(cmd)
			tree.Kill()
		case <-reaped:
		}
	}()
	waitErr := cmd.Wait()
	close(reaped)
	res := &Result{Duration: time.Since(start), ExitCode: -1, timeout: s.Timeout}
	// The child is gone; a forked grandchild may still hold the pipe, but a
	// complete report ends with a newline, so only a partial one waits here.
	var rep []byte
	select {
	case rep = <-payload:
	case <-time.After(100 * time.Millisecond):
		r.Close()
		rep = <-payload
	}
	res.Payload = rep
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	if ps := cmd.ProcessState; ps != nil {
		res.ExitCode = ps.ExitCode()
		res.Signal = signalOf(ps)
	}
	if res.Signal == "" {
		res.Signal = stderr.signal()
	}

	switch {
	case errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		res.Status = TimedOut
	case ctx.Err() != nil:
		return res, ctx.Err()
	case waitErr == nil && res.ExitCode == 0 && rep != nil:
		res.Status = OK
	default:
		res.Status = Crashed
	}
	return res, nil
}

// readReport reads one newline-terminated report, bounded by max. A report
// without its newline (the child died while writing) counts as none.
func readReport(r io.Reader, max int) []byte {
	br := bufio.NewReader(io.LimitReader(r, int64(max)+1))
	line, err := br.ReadBytes('\n')
	if err != nil {
		return nil
	}
	return line[:len(line)-1]
}

// Err is nil for OK, else a *clawerr.Error with code crashed or timeout
// whose detail says how the child ended and ends with its last stderr
// lines. who and op fill the error's Plugin and Op.
func (r *Result) Err(who, op string) error {
	switch r.Status {
	case OK:
		return nil
	case TimedOut:
		return clawerr.New(clawerr.Timeout, who, op, r.describe(), nil)
	}
	return clawerr.New(clawerr.Crashed, who, op, r.describe(), nil)
}

func (r *Result) describe() string {
	var b strings.Builder
	switch {
	case r.Status == TimedOut:
		fmt.Fprintf(&b, "the child process did not finish within %s and was killed", r.timeout)
	case strings.HasPrefix(r.Signal, "exception "): // Windows: the status is the exception's code
		fmt.Fprintf(&b, "the child process crashed with %s", r.Signal)
	case r.ExitCode < 0 && r.Signal != "":
		fmt.Fprintf(&b, "the child process was killed by signal %s", r.Signal)
	case r.Signal != "":
		// The Go runtime caught the signal, printed its report and exited:
		// the signal is the cause, the status only how the runtime left.
		fmt.Fprintf(&b, "the child process crashed with signal %s (caught and reported by the Go runtime)", r.Signal)
	case r.ExitCode == 0:
		b.WriteString("the child process exited with status 0 without reporting a result")
	default:
		fmt.Fprintf(&b, "the child process exited with status %d", r.ExitCode)
	}
	if tail := strings.TrimSpace(r.Stderr); tail != "" {
		b.WriteString("; last stderr lines:\n")
		b.WriteString(tail)
	}
	return b.String()
}

// Report writes the child's one result, v as JSON, to the result pipe and
// closes it. Call it once, from the child, then exit with status 0.
func Report(v any) error {
	f, err := resultFile()
	if err != nil {
		return err
	}
	data, err := json.Marshal(v) // compact: no raw newline, so '\n' ends it
	if err != nil {
		f.Close()
		return err
	}
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// IsChild reports whether this process was started by Run (and Main read
// its hand-off).
func IsChild() bool { return current != nil && current.Result != "" }

func resultFile() (*os.File, error) {
	if !IsChild() {
		return nil, errors.New("child: no result pipe: not started by child.Run")
	}
	v := current.Result
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("child: bad result pipe %q in the hand-off", v)
	}
	return os.NewFile(uintptr(n), "clawd-child-result"), nil
}

// tail keeps the last lines written to it, bounded to about n bytes. A Go
// crash report ("SIGSEGV: ...", "fatal error: ...", "panic: ...") keeps
// only its header, up to the first blank line: the goroutine dump after it
// would push out the lines that explain the crash (the plugin's own log)
// and says nothing about C code. The dump's size is noted instead.
type tail struct {
	mu      sync.Mutex
	n       int
	buf     []byte // complete lines before any crash report
	partial []byte // the current incomplete line
	state   int
	report  []byte // the crash report's header
	omitted int64  // bytes of the report after its header
	sig     string // the last signal a runtime report named
}

const (
	inLog = iota
	inReportHeader
	inReportDump
)

const maxReportHeader = 1 << 10

func newTail(n int) *tail { return &tail{n: n} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.partial = append(t.partial, p...)
			if len(t.partial) > t.n { // a line longer than the whole tail
				t.line(t.partial)
				t.partial = t.partial[:0]
			}
			break
		}
		if len(t.partial) > 0 {
			t.partial = append(t.partial, p[:i+1]...)
			t.line(t.partial)
			t.partial = t.partial[:0]
		} else {
			t.line(p[:i+1])
		}
		p = p[i+1:]
	}
	return n, nil
}

// line takes one line, its newline included (except for an overlong or a
// final unterminated one).
func (t *tail) line(l []byte) {
	if s := runtimeSignal(string(l[:min(len(l), 256)])); s != "" {
		t.sig = s
	}
	switch t.state {
	case inLog:
		if reportStart(l) {
			t.state = inReportHeader
			t.report = append(t.report, l[:min(len(l), maxReportHeader)]...)
			return
		}
		t.buf = append(t.buf, l...)
		if len(t.buf) > 2*t.n {
			t.buf = append(t.buf[:0], lastLines(t.buf, t.n)...)
		}
	case inReportHeader:
		if len(bytes.TrimSpace(l)) == 0 {
			t.state = inReportDump
			t.omitted += int64(len(l))
		} else if len(t.report)+len(l) <= maxReportHeader {
			t.report = append(t.report, l...)
		} else {
			t.omitted += int64(len(l))
		}
	default:
		t.omitted += int64(len(l))
	}
}

// reportStart reports whether l begins a Go runtime crash report.
func reportStart(l []byte) bool {
	if bytes.HasPrefix(l, []byte("fatal error: ")) || bytes.HasPrefix(l, []byte("panic: ")) {
		return true
	}
	// "SIGSEGV: segmentation violation", printed for a fault in C code.
	if !bytes.HasPrefix(l, []byte("SIG")) {
		return false
	}
	i := 3
	for i < len(l) && (l[i] >= 'A' && l[i] <= 'Z' || l[i] >= '0' && l[i] <= '9') {
		i++
	}
	return i > 3 && bytes.HasPrefix(l[i:], []byte(": "))
}

// runtimeSignal extracts SIGxxx from either form the Go runtime prints:
// "SIGSEGV: segmentation violation" (a fault in C code) or
// "[signal SIGSEGV: segmentation violation ...]" (after "fatal error:").
func runtimeSignal(line string) string {
	rest := ""
	if _, r, ok := strings.Cut(line, "[signal SIG"); ok {
		rest = r
	} else if reportStart([]byte(line)) && strings.HasPrefix(line, "SIG") {
		rest = line[3:]
	} else {
		return ""
	}
	end := strings.IndexAny(rest, ": ]")
	if end <= 0 {
		return ""
	}
	return "SIG" + rest[:end]
}

func (t *tail) flush() {
	if len(t.partial) > 0 {
		t.line(t.partial)
		t.partial = t.partial[:0]
	}
}

func (t *tail) signal() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flush()
	return t.sig
}

// String returns the kept lines, then the crash report's header and a note
// of what was left out of it; about n bytes at most.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flush()
	note := ""
	if t.omitted > 0 {
		note = fmt.Sprintf("[%d bytes of Go runtime traceback omitted]\n", t.omitted)
	}
	keep := max(t.n-len(t.report)-len(note), 0)
	return string(lastLines(t.buf, keep)) + string(t.report) + note
}

// lastLines returns the whole lines at the end of b that fit in n bytes; if
// not even the last line fits, its last n bytes.
func lastLines(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	start := len(b) - n
	if b[start-1] == '\n' {
		return b[start:]
	}
	if i := bytes.IndexByte(b[start:], '\n'); i >= 0 && start+i+1 < len(b) {
		return b[start+i+1:]
	}
	return b[start:]
}

// Tail is the bounded keeper of a child's stdout or stderr that Run uses,
// for callers that supervise a long-lived child of their own (package
// isolate): write the stream to it, read the last lines and the signal a Go
// crash report named.
type Tail = tail

// NewTail returns a Tail that keeps about n bytes.
func NewTail(n int) *Tail { return newTail(n) }

// Signal is the last signal a Go runtime crash report in the stream named.
func (t *tail) Signal() string { return t.signal() }

// ExitSignal names the signal that ended ps, "" if it exited normally.
func ExitSignal(ps *os.ProcessState) string { return signalOf(ps) }
