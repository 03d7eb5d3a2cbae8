package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clawd-go/clawd/internal/child"
)

// exitCrashed is run's exit status when its host process crashed or was
// ended by plugin code it ran in process (a native plugin): Go cannot
// recover a fault in foreign code, so the process that ran it dies with
// the Go runtime's own status 2, which would read as a usage error.
const exitCrashed = 3

// runHostEnv marks the child that run starts to be its host (see
// superviseRun); the child removes it from its environment at once.
const runHostEnv = "CLAWD_PLUGIN_RUN_HOST"

// progress is where the run host says what it is doing, for the
// supervisor to name the plugin and the step a crash happened in; nil
// when run is not supervised (in tests, on Windows).
var progress *os.File

// note tells the supervisor, if any, one fact: a line of quoted words.
func note(words ...string) {
	if progress == nil {
		return
	}
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = strconv.Quote(w) // plugin names are the plugin's: no line of theirs
	}
	progress.WriteString(strings.Join(q, " ") + "\n")
}

// superviseRun runs `run` in a child process of this program, the run
// host, and waits for it, when it can (runHostFiles); it reports false
// when run should go on in this process (the child itself; --help).
//
// Why a child: a native plugin runs in the host's process, and a fault in
// it (SIGSEGV, abort) is fatal to the Go runtime, which prints its crash
// report and exits 2. Only another process can see that and say what it
// was. The child is the same program with the same arguments, stdin,
// stdout and stderr, in the same process group, so Ctrl-C reaches it as
// it would reach run itself (the supervisor ignores SIGINT and waits;
// SIGTERM and SIGHUP sent to the supervisor are passed on). The runtime
// copies its crash report to a pipe (debug.SetCrashOutput), and the child
// notes the in-process plugins it loaded and each step it plays on
// another, so the supervisor can name the plugin and the step.
func superviseRun(args []string) (code int, supervised bool) {
	if os.Getenv(runHostEnv) != "" {
		os.Unsetenv(runHostEnv)
		progress = becomeRunHost()
		return 0, false
	}
	if wantsHelp(args) || !canSupervise {
		return 0, false
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, false
	}
	crashR, crashW, err := os.Pipe()
	if err != nil {
		return 0, false
	}
	progR, progW, err := os.Pipe()
	if err != nil {
		crashR.Close()
		crashW.Close()
		return 0, false
	}
	cmd := child.Exec(exe, append([]string{"run"}, args...)...) // through the emulator's launcher, if any
	if os.Getenv(child.LauncherEnv) == "" {
		cmd.Args[0] = os.Args[0] // hints name the command as the user typed it (self)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), runHostEnv+"=1")
	cmd.ExtraFiles = []*os.File{crashW, progW} // fds 3 and 4 (runHostFiles)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	err = cmd.Start()
	crashW.Close()
	progW.Close()
	if err != nil {
		crashR.Close()
		progR.Close()
		return 0, false // run it here, unsupervised
	}
	go func() {
		for s := range sigs {
			if s != os.Interrupt { // Ctrl-C reached the child already
				cmd.Process.Signal(s)
			}
		}
	}()
	var wg sync.WaitGroup
	var report []byte
	st := &runState{}
	wg.Add(2)
	go func() { defer wg.Done(); report = readBounded(crashR, 64<<10) }()
	go func() { defer wg.Done(); st.read(progR) }()
	waitErr := cmd.Wait()
	// A plugin's own child may hold the pipes open: what the run host
	// wrote is in them already, so a moment is enough.
	deadline := time.Now().Add(2 * time.Second)
	crashR.SetReadDeadline(deadline)
	progR.SetReadDeadline(deadline)
	wg.Wait()
	crashR.Close()
	progR.Close()

	status := 0
	var ee *exec.ExitError
	switch {
	case errors.As(waitErr, &ee):
		status = ee.ExitCode()
	case waitErr != nil:
		fmt.Fprintf(os.Stderr, "clawd-plugin run: waiting for the run host: %v\n", waitErr)
		return exitCrashed, true
	}
	if len(report) == 0 && st.done() {
		return status, true // run ended as it does: its own status
	}
	if len(report) == 0 && ee != nil {
		if s, ok := killedBy(ee); ok && (s == syscall.SIGINT || s == syscall.SIGTERM || s == syscall.SIGHUP) {
			return 128 + int(s), true // interrupted: the shell's convention, nothing to explain
		}
	}
	msg := st.explain(report, ee)
	fmt.Fprintf(os.Stderr, "clawd-plugin run: %s: %s\n", codeCrashed, msg)
	if jsonAsked(args) {
		pr := &printer{w: os.Stdout, json: true}
		pr.print(record{Type: "error", Code: codeCrashed, Error: msg})
	}
	return exitCrashed, true
}

// codeCrashed is the code of run's crash record: the plugin's process
// died, here the host's own.
const codeCrashed = "crashed"

// readBounded reads r to its end, keeping at most limit bytes.
func readBounded(r io.Reader, limit int64) []byte {
	b, _ := io.ReadAll(io.LimitReader(r, limit))
	io.Copy(io.Discard, r)
	return b
}

// runState is what the run host said it was doing.
type runState struct {
	mu       sync.Mutex
	natives  []string // "name version" of each plugin it runs in process
	step     string   // "script line N (event)"
	phase    string   // loading, playing, closing, done
	finished bool
}

func (s *runState) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	s.mu.Lock()
	s.phase = "loading"
	s.mu.Unlock()
	for sc.Scan() {
		words, ok := unquoteWords(sc.Text())
		if !ok || len(words) == 0 {
			continue
		}
		s.mu.Lock()
		switch {
		case words[0] == "native" && len(words) == 3:
			s.natives = append(s.natives, words[1]+" "+words[2])
		case words[0] == "step" && len(words) == 3:
			s.phase, s.step = "playing", "script line "+words[1]+" ("+words[2]+")"
		case words[0] == "close":
			s.phase = "closing"
		case words[0] == "done":
			s.finished = true
		}
		s.mu.Unlock()
	}
	io.Copy(io.Discard, r) // a line too long: keep the child from blocking
}

func (s *runState) done() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finished
}

// unquoteWords splits a line of note's quoted words.
func unquoteWords(line string) ([]string, bool) {
	var words []string
	for line != "" {
		q, err := strconv.QuotedPrefix(line)
		if err != nil {
			return nil, false
		}
		w, _ := strconv.Unquote(q)
		words = append(words, w)
		line = strings.TrimPrefix(line[len(q):], " ")
	}
	return words, true
}

// explain says what crashed or ended the run host, in what, and what to do.
func (s *runState) explain(report []byte, ee *exec.ExitError) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var how string
	switch sig, killed := killedBy(ee); {
	case len(report) > 0:
		how = "died (" + safe(firstLine(report)) + ")"
	case killed:
		how = "was killed by signal " + sig.String()
	case ee != nil:
		how = fmt.Sprintf("ended (exit status %d) before run finished", ee.ExitCode())
	default:
		how = "ended (exit status 0) before run finished"
	}
	var when string
	switch s.phase {
	case "playing":
		when = " while playing " + s.step
	case "closing":
		when = " while closing the plugins (on_unload)"
	default:
		when = " while loading the plugins"
	}
	var who string
	switch len(s.natives) {
	case 0:
		who = "no native plugin was loaded yet"
	case 1:
		who = "native plugin " + safe(s.natives[0]) + " runs in it"
	default:
		names := make([]string, len(s.natives))
		for i, n := range s.natives {
			names[i] = safe(n)
		}
		who = "native plugins " + strings.Join(names, ", ") + " run in it"
	}
	return fmt.Sprintf("the host process %s%s; %s. A native plugin runs in the host's process, so its crash takes the host down: run it in the process sandbox (--sandbox process, or sandbox = \"process\" in its manifest) to contain it, and check it with %s check DIR",
		how, when, who, self)
}

func firstLine(b []byte) string {
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if len(l) > 200 {
				l = l[:200]
			}
			return l
		}
	}
	return ""
}
