package contain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/contain"
)

// envChild tells the test binary to run one child action instead of the
// tests: "VERB ARG", for example "open /tmp/x".
const envChild = "CONTAIN_TEST_CHILD"

func TestMain(m *testing.M) {
	contain.Enter()
	if action, ok := os.LookupEnv(envChild); ok {
		os.Exit(runChild(action))
	}
	os.Exit(m.Run())
}

// result is the one JSON line a child action prints on stdout.
type result struct {
	Errno   int               `json:"errno"`
	Errnos  []int             `json:"errnos,omitempty"`
	Tids    []int             `json:"tids,omitempty"`
	NNP     []int             `json:"nnp,omitempty"` // no_new_privs per thread
	Limits  map[string]uint64 `json:"limits,omitempty"`
	PID     int               `json:"pid,omitempty"`
	Signal  int               `json:"signal,omitempty"`
	Report  *contain.Report   `json:"report,omitempty"`
	Applied bool              `json:"applied,omitempty"`
	String  string            `json:"string,omitempty"`
	Lines   []string          `json:"lines,omitempty"`
}

// runChild runs a child action and returns the exit status.
func runChild(action string) int {
	verb, arg, _ := strings.Cut(action, " ")
	var res result
	switch verb {
	case "open": // open ARG for reading
		f, err := os.Open(arg)
		if err == nil {
			f.Close()
		}
		res.Errno = errnoOf(err)
	case "write": // create or truncate ARG and write to it
		res.Errno = errnoOf(os.WriteFile(arg, []byte("written by the child\n"), 0o644))
	case "report":
		r, ok := contain.Applied()
		res.Report, res.Applied, res.String = &r, ok, r.String()
	case "sleep": // print the pid, then wait to be killed
		res.PID = os.Getpid()
		emit(res)
		time.Sleep(time.Hour)
		return 1
	default:
		var ok bool
		if res, ok = platformChild(verb, arg); !ok {
			fmt.Fprintf(os.Stderr, "unknown child action %q\n", action)
			return 2
		}
	}
	emit(res)
	return 0
}

func emit(res result) {
	js, _ := json.Marshal(res)
	fmt.Println(string(js))
}

func errnoOf(err error) int {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	return -1
}

// child is the test binary, run as a child that performs action.
func child(action string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// Under -race a child that exits with goroutines alive sleeps 1 s first.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), envChild+"="+action, "GORACE="+gorace)
	return cmd
}

// runConfined runs action in a child confined by p and returns its result.
func runConfined(t *testing.T, p contain.Policy, action string) result {
	t.Helper()
	cmd := child(action)
	p.Env = append(p.Env, envChild) // the child action is a hand-off variable
	require.NoError(t, contain.Prepare(cmd, p))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, contain.Start(cmd))
	require.NoError(t, cmd.Wait(), "child %q: stderr: %s", action, stderr.String())
	var res result
	line := strings.TrimSpace(stdout.String())
	require.NoError(t, json.Unmarshal([]byte(line), &res), "child %q printed %q; stderr: %s", action, line, stderr.String())
	return res
}

func TestReportString(t *testing.T) {
	full := contain.Report{OS: "linux", LandlockABI: 7, Filesystem: true, TCP: true, Signals: true,
		NoNewPrivs: true, Rlimits: true, DieWithParent: true}
	require.Equal(t, "landlock v7 (filesystem, tcp, signals), no_new_privs, rlimits, dies with parent", full.String())

	none := contain.Report{OS: "linux", NoNewPrivs: true, Rlimits: true, DieWithParent: true,
		Notes: []string{"the kernel has no Landlock: file and network access are not restricted"}}
	require.Equal(t, "no landlock (kernel lacks it), no_new_privs, rlimits, dies with parent", none.String())

	off := contain.Report{OS: "linux", NoNewPrivs: true, DieWithParent: true}
	require.Equal(t, "no landlock (not requested), no_new_privs, dies with parent", off.String())

	win := contain.Report{OS: "windows"}
	require.True(t, strings.HasPrefix(win.String(), "crash isolation only: "), win.String())
	require.Contains(t, win.String(), "windows")
}

func TestPrepare(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{"A=1", "SECRET=s", "PATH=/bin", "LC_ALL=C", contain.EnvReport + "=stale", contain.EnvParent + "=1"}
	p := contain.Policy{ReadOnly: []string{filepath.Join(t.TempDir(), "x")}, Landlock: true, NoCoreDumps: true,
		Env: []string{"A", "B=2", "MISSING"}}
	require.NoError(t, contain.Prepare(cmd, p))

	vars := map[string]string{}
	for _, kv := range cmd.Env {
		k, v, _ := strings.Cut(kv, "=")
		_, dup := vars[k]
		require.False(t, dup, "%s twice in %q", k, cmd.Env)
		vars[k] = v
	}
	require.Equal(t, "1", vars["A"])
	require.Equal(t, "2", vars["B"])
	require.Equal(t, "/bin", vars["PATH"])
	require.Equal(t, "C", vars["LC_ALL"])
	require.Equal(t, "/nonexistent", vars["HOME"])
	require.NotContains(t, vars, "SECRET")
	require.NotContains(t, vars, "MISSING")
	require.Len(t, vars, 7, "%q", cmd.Env)
	require.Equal(t, fmt.Sprint(os.Getpid()), vars[contain.EnvParent])
	require.NotContains(t, vars, contain.EnvReport)
	var got contain.Policy
	require.NoError(t, json.Unmarshal([]byte(vars[contain.EnvPolicy]), &got))
	require.Equal(t, p, got)
	checkProcAttr(t, cmd)
}

func TestPrepareNilEnv(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	require.NoError(t, contain.Prepare(cmd, contain.Policy{}))
	require.Greater(t, len(cmd.Env), 2, "os.Environ() and the two variables")
}

func TestPrepareRejectsRelativePath(t *testing.T) {
	err := contain.Prepare(exec.Command(os.Args[0]), contain.Policy{ReadWrite: []string{"rel/dir"}})
	require.ErrorContains(t, err, `"rel/dir" is not absolute`)
}

func TestEnterWithoutPolicy(t *testing.T) {
	// TestMain called Enter without EnvPolicy and got here: it returned.
	_, ok := contain.Applied()
	require.False(t, ok)
}

func TestSystemLibraryDirs(t *testing.T) {
	dirs := contain.SystemLibraryDirs()
	if runtime.GOOS == "linux" || runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		require.NotEmpty(t, dirs)
	}
	for _, d := range dirs {
		require.True(t, filepath.IsAbs(d), d)
		_, err := os.Stat(d)
		require.NoError(t, err)
	}
}

func TestChildReport(t *testing.T) {
	res := runConfined(t, contain.Policy{Landlock: true}, "report")
	require.True(t, res.Applied)
	require.Equal(t, runtime.GOOS, res.Report.OS)
	require.Equal(t, res.Report.String(), res.String)
	require.NotEmpty(t, res.String)
}

// TestParentCheck: a second image whose parent is not the one named in
// EnvParent exits with status 125 before doing anything.
func TestParentCheck(t *testing.T) {
	cmd := child("report")
	cmd.Env = append(cmd.Env, contain.EnvReport+`={"os":"`+runtime.GOOS+`"}`, contain.EnvParent+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 125, ee.ExitCode())
	require.Empty(t, out)
	require.True(t, strings.HasPrefix(stderr.String(), "clawd contain: parent 1 exited"), stderr.String())
}

func TestBadPolicyExits125(t *testing.T) {
	cmd := child("report")
	cmd.Env = append(cmd.Env, contain.EnvPolicy+"={not json", contain.EnvParent+fmt.Sprintf("=%d", os.Getpid()))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 125, ee.ExitCode())
	require.True(t, strings.HasPrefix(stderr.String(), "clawd contain: "), stderr.String())
}

func TestKillGroupNotStarted(t *testing.T) {
	require.Error(t, contain.KillGroup(exec.Command(os.Args[0])))
}
