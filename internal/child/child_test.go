//go:build unix

package child

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/contain"
)

// The test binary is its own child: the role "test" runs the mode it is
// given instead of the tests.
func TestMain(m *testing.M) {
	Register("test", func(args json.RawMessage) int {
		var mode string
		if err := json.Unmarshal(args, &mode); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 9
		}
		return childMain(mode)
	})
	Main()
	os.Exit(m.Run())
}

func childMain(mode string) int {
	switch mode {
	case "ok":
		fmt.Println(`{"fake":"stdout is not the channel"}`)
		fmt.Fprintln(os.Stderr, "a line on stderr")
		if err := Report(map[string]any{"hello": "world"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 9
		}
		return 0
	case "exit3":
		fmt.Fprintln(os.Stderr, "about to exit 3")
		return 3
	case "noreport":
		return 0
	case "handoff": // what the role sees of its hand-off
		_, visible := os.LookupEnv(Env)
		rep, applied := contain.Applied()
		if err := Report(map[string]any{"role": Role(), "visible": visible, "applied": applied, "pidns": rep.PIDNamespace}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 9
		}
		return 0
	case "report_then_fail":
		_ = Report("x")
		return 1
	case "runtime_segv":
		// Plugin log lines, then what the Go runtime prints when C code
		// faults, then its exit status.
		for i := range 200 {
			fmt.Fprintf(os.Stderr, "INFO\tplugin line %d\n", i)
		}
		fmt.Fprint(os.Stderr, "SIGSEGV: segmentation violation\nPC=0x7f0000001000 m=0 sigcode=1 addr=0x0\nsignal arrived during cgo execution\n\n")
		fmt.Fprint(os.Stderr, strings.Repeat("goroutine trace line\n", 1000))
		return 2
	case "killed":
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Minute)
	case "hang":
		// A grandchild in the same process group that also holds stdout
		// for as long as the test binary runs (and not after it, should a
		// regression leave it behind).
		cmd := exec.Command("sh", "-c", "while kill -0 "+strconv.Itoa(os.Getppid())+" 2>/dev/null; do sleep 1; done")
		cmd.Stdout = os.Stdout
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 9
		}
		fmt.Fprintf(os.Stderr, "grandchild %d\n", cmd.Process.Pid)
		time.Sleep(time.Hour)
	}
	return 99
}

// run runs the test binary in role mode under timeout; 0, for a child that
// ends by itself, is no limit: a child that does not fails the test at the
// test binary's -timeout, and no busy machine turns a success into a
// timeout.
func run(t *testing.T, mode string, timeout time.Duration) *Result {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Spec{
		Path:     exe,
		Args:     []string{"-test.run=^$"},
		Role:     "test",
		RoleArgs: mode,
		// atexit_sleep_ms: a -race child otherwise sleeps 1s before exiting 0.
		Env:     append(os.Environ(), "GORACE=atexit_sleep_ms=0"),
		Timeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestOK(t *testing.T) {
	res := run(t, "ok", 0)
	if res.Status != OK || string(res.Payload) != `{"hello":"world"}` {
		t.Fatalf("status %v payload %q stderr %q", res.Status, res.Payload, res.Stderr)
	}
	if res.Stdout != "{\"fake\":\"stdout is not the channel\"}\n" || res.Stderr != "a line on stderr\n" {
		t.Fatalf("stdout %q stderr %q", res.Stdout, res.Stderr)
	}
	if res.Err("p", "op") != nil {
		t.Fatal(res.Err("p", "op"))
	}
}

func TestCrashed(t *testing.T) {
	for _, tc := range []struct {
		mode, want string
		exit       int
	}{
		{"exit3", "exited with status 3; last stderr lines:\nabout to exit 3", 3},
		{"noreport", "exited with status 0 without reporting a result", 0},
		{"report_then_fail", "exited with status 1", 1},
		{"runtime_segv", "the child process crashed with signal SIGSEGV (caught and reported by the Go runtime); last stderr lines:\nINFO\tplugin line", 2},
		{"killed", "killed by signal SIGKILL", -1},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			res := run(t, tc.mode, 0)
			if res.Status != Crashed || res.ExitCode != tc.exit {
				t.Fatalf("status %v exit %d", res.Status, res.ExitCode)
			}
			err := res.Err("p", "inspect")
			if clawerr.CodeOf(err) != clawerr.Crashed || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want code crashed and %q", err, tc.want)
			}
		})
	}
}

func TestStderrTailKeepsWhatExplainsTheCrash(t *testing.T) {
	res := run(t, "runtime_segv", 0)
	want := "INFO\tplugin line 199\nSIGSEGV: segmentation violation\nPC=0x7f0000001000 m=0 sigcode=1 addr=0x0\n" +
		"signal arrived during cgo execution\n[21001 bytes of Go runtime traceback omitted]\n"
	if len(res.Stderr) > DefaultTailBytes || !strings.HasSuffix(res.Stderr, want) || !strings.HasPrefix(res.Stderr, "INFO\tplugin line ") {
		t.Fatalf("tail of %d bytes:\n%s", len(res.Stderr), res.Stderr)
	}
	if res.Signal != "SIGSEGV" {
		t.Fatalf("signal %q", res.Signal)
	}
}

func TestTailFatalErrorForm(t *testing.T) {
	tl := newTail(64)
	tl.Write([]byte("log\nfatal error: unexpected signal during runtime execution\n[signal SIGB"))
	tl.Write([]byte("US: bus error code=0x2 addr=0x0 pc=0x0]\n\nruntime stack:\nx\n"))
	if tl.signal() != "SIGBUS" {
		t.Fatalf("%q", tl.signal())
	}
	want := "fatal error: unexpected signal during runtime execution\n[signal SIGBUS: bus error code=0x2 addr=0x0 pc=0x0]\n[18 bytes of Go runtime traceback omitted]\n"
	if got := tl.String(); got != want {
		t.Fatalf("%q", got)
	}
}

// TestTimeoutKillsTheGroup: the child and its grandchild never end by
// themselves, so a Run that waited for either (or for the stdout the
// grandchild holds) would not return before the test binary's -timeout
// fails the test. A machine too busy to start the grandchild before the
// timeout gets a run with twice the timeout: what is asserted does not
// depend on its speed.
func TestTimeoutKillsTheGroup(t *testing.T) {
	var res *Result
	timeout := 500 * time.Millisecond
	for {
		res = run(t, "hang", timeout)
		err := res.Err("p", "inspect")
		if res.Status != TimedOut || clawerr.CodeOf(err) != clawerr.Timeout {
			t.Fatalf("status %v err %v", res.Status, err)
		}
		if !strings.Contains(err.Error(), "did not finish within "+timeout.String()) {
			t.Fatal(err)
		}
		if strings.Contains(res.Stderr, "grandchild ") || runtime.GOOS != "linux" {
			break
		}
		t.Logf("killed before its grandchild started (stderr %q): again with twice the timeout", res.Stderr)
		timeout *= 2
	}
	if runtime.GOOS != "linux" {
		return
	}
	var pid int
	if _, err := fmt.Sscanf(res.Stderr[strings.Index(res.Stderr, "grandchild "):], "grandchild %d", &pid); err != nil {
		t.Fatalf("no grandchild pid in %q", res.Stderr)
	}
	// Dead means gone, or a zombie waiting for init to reap it. Polled
	// with no deadline of its own: a grandchild that survived the timeout
	// keeps this loop going until the test binary's -timeout fails the
	// test.
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTailCutsAtLineBoundary(t *testing.T) {
	tl := newTail(10)
	tl.Write([]byte("aaaa\nbbbb\ncccc\n"))
	if got := tl.String(); got != "bbbb\ncccc\n" {
		t.Fatalf("%q", got)
	}
	tl = newTail(10)
	tl.Write([]byte("ab\n"))
	if got := tl.String(); got != "ab\n" {
		t.Fatalf("%q", got)
	}
	tl = newTail(10)
	tl.Write([]byte("no newline at the end"))
	if got := tl.String(); got != "at the end" {
		t.Fatalf("%q", got)
	}
}

// TestHandoff: the role runs with its arguments, the hand-off variable is
// gone from its environment (the plugin never sees it), and a confined
// child knows what was applied.
func TestHandoff(t *testing.T) {
	for _, tc := range []struct {
		pol  *contain.Policy
		want string
	}{
		{nil, `{"applied":false,"pidns":false,"role":"test","visible":false}`},
		{&contain.Policy{}, `{"applied":true,"pidns":` + strconv.FormatBool(runtime.GOOS == "linux") + `,"role":"test","visible":false}`},
	} {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(context.Background(), Spec{Path: exe, Args: []string{"-test.run=^$"}, Role: "test", RoleArgs: "handoff",
			Env: append(os.Environ(), "GORACE=atexit_sleep_ms=0"), Contain: tc.pol})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != OK || string(res.Payload) != tc.want {
			t.Fatalf("policy %v: status %v payload %s, want %s; stderr %q", tc.pol, res.Status, res.Payload, tc.want, res.Stderr)
		}
	}
}

// TestUnknownRole: a hand-off naming a role this program does not serve
// stops the child with status 125 and says which roles it serves.
func TestUnknownRole(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Spec{Path: exe, Args: []string{"-test.run=^$"}, Role: "nope"})
	if err != nil {
		t.Fatal(err)
	}
	want := `this program does not serve the role "nope" (it serves: test)`
	if res.Status != Crashed || res.ExitCode != 125 || !strings.Contains(res.Stderr, want) {
		t.Fatalf("status %v exit %d stderr %q", res.Status, res.ExitCode, res.Stderr)
	}
}
