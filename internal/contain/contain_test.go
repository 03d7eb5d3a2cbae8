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
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/child"
	"github.com/clawd-go/clawd/internal/contain"
)

// testRole makes the test binary run one child action instead of the
// tests: its argument is "VERB ARG", for example "open /tmp/x".
const testRole = "contain-test"

func TestMain(m *testing.M) {
	child.Register(testRole, func(args json.RawMessage) int {
		var action string
		if err := json.Unmarshal(args, &action); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		return runChild(action)
	})
	child.Main() // confines a child (contain.Enter) and runs its action
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
		res.PID = hostPID()
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

// hostPID is our pid as the host sees it: in a PID namespace of our own
// Getpid says 1, and the mounted /proc (the host's) names the real one.
func hostPID() int {
	if s, err := os.Readlink("/proc/self"); err == nil {
		if pid, err := strconv.Atoi(s); err == nil {
			return pid
		}
	}
	return os.Getpid()
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

// childEnv is the environment of a child: under -race a child that exits
// with goroutines alive sleeps 1 s first.
func childEnv() []string {
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	return append(os.Environ(), "GORACE="+gorace)
}

// handoff is the test binary with a hand-off written by hand.
func handoff(js string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(childEnv(), child.Env+"="+js)
	return cmd
}

// runConfined runs action in a child confined by p and returns its result.
func runConfined(t testing.TB, p contain.Policy, action string) result {
	t.Helper()
	cmd, tree, err := child.Command(os.Args[0], []string{"-test.run=^$"}, childEnv(), testRole, action, &p)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, tree.Release()) })
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

	ns := contain.Report{OS: "linux", NoNewPrivs: true, DieWithParent: true, PIDNamespace: true,
		SessionKeyring: true, Sockets: true, NetNS: true, IPCNS: true, NoCapabilities: true}
	require.Equal(t, "no landlock (not requested), no_new_privs, dies with parent, pid namespace, "+
		"own session keyring, no sockets (seccomp), netns, ipcns, no capabilities", ns.String())
	ns.NetNS, ns.Sockets = false, false
	require.Equal(t, "no landlock (not requested), no_new_privs, dies with parent, pid namespace, "+
		"own session keyring, ipcns, no capabilities", ns.String())

	win := contain.Report{OS: "windows"}
	require.True(t, strings.HasPrefix(win.String(), "crash isolation only: "), win.String())
	require.Contains(t, win.String(), "windows")

	job := contain.Report{OS: "windows", DieWithParent: true, MaxProcesses: 64, Rlimits: true,
		RestrictedToken: true, Integrity: "low", NoWriteUp: true}
	require.Equal(t, "job object (killed with the host, at most 64 processes, memory and CPU-time limits), restricted token, "+
		"low integrity (no write to the user's files); no read, network or signal confinement on windows", job.String())
	// A low token whose writes up were not refused is not enforced.
	wine := contain.Report{OS: "windows", RestrictedToken: true, Integrity: "low"}
	require.Equal(t, "job object (no limit read back), restricted token, low integrity token, not enforced; "+
		"no read, network or signal confinement on windows", wine.String())
	medium := contain.Report{OS: "windows", DieWithParent: true, Integrity: "medium"}
	require.Equal(t, "job object (killed with the host), medium integrity; no read, network or signal confinement on windows", medium.String())
}

func TestPrepare(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{"A=1", "SECRET=s", "PATH=/bin", "LC_ALL=C", contain.EnvHandoff + "=stale"}
	p := contain.Policy{ReadOnly: []string{filepath.Join(t.TempDir(), "x")}, Landlock: true, NoCoreDumps: true,
		Env: []string{"A", "B=2", "MISSING"}}
	st, err := contain.Prepare(cmd, p)
	require.NoError(t, err)
	// The allowlist and p.Env only: an inherited hand-off is dropped with the
	// secret; the caller adds its own.
	require.ElementsMatch(t, []string{"A=1", "B=2", "PATH=/bin", "LC_ALL=C", "HOME=/nonexistent"}, cmd.Env)
	require.Equal(t, os.Getpid(), st.Parent)
	require.Equal(t, p.ReadOnly, st.Policy.ReadOnly)
	require.Nil(t, st.Report)
	require.Nil(t, st.Tree, "no MaxProcesses: no cgroup")
	checkProcAttr(t, cmd)
}

func TestPrepareNilEnv(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	_, err := contain.Prepare(cmd, contain.Policy{})
	require.NoError(t, err)
	if v, ok := os.LookupEnv("PATH"); ok {
		require.Contains(t, cmd.Env, "PATH="+v, "nil Env: the allowlist of os.Environ()")
	}
}

func TestPrepareRejectsRelativePath(t *testing.T) {
	_, err := contain.Prepare(exec.Command(os.Args[0]), contain.Policy{ReadWrite: []string{"rel/dir"}})
	require.ErrorContains(t, err, `"rel/dir" is not absolute`)
}

func TestEnterWithoutPolicy(t *testing.T) {
	// TestMain called Main (and so Enter) without a hand-off and got here.
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
// hand-off exits with status 125 before doing anything.
func TestParentCheck(t *testing.T) {
	cmd := handoff(`{"role":"` + testRole + `","args":"report","parent":1,"report":{"os":"` + runtime.GOOS + `"}}`)
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
	for _, tc := range []struct{ handoff, want string }{
		{fmt.Sprintf(`{"role":"%s","args":"report","parent":%d,"policy":{"ReadOnly":["rel/dir"]}}`, testRole, os.Getpid()),
			`clawd contain: contain: policy path "rel/dir" is not absolute`},
		{fmt.Sprintf(`{"role":"%s","args":"report","policy":{}}`, testRole),
			"clawd contain: the hand-off names no parent"},
		{`{not json`, "clawd child: bad " + child.Env},
		{`{"role":"no-such-role"}`, `clawd child: this program does not serve the role "no-such-role" (it serves: contain-test)`},
	} {
		cmd := handoff(tc.handoff)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, tc.handoff)
		require.Equal(t, 125, ee.ExitCode(), tc.handoff)
		require.True(t, strings.HasPrefix(stderr.String(), tc.want), "%s: %s", tc.handoff, stderr.String())
	}
}

func TestKillGroupNotStarted(t *testing.T) {
	require.Error(t, contain.KillGroup(exec.Command(os.Args[0])))
}
