package child

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"

	"github.com/clawd-go/clawd/internal/contain"
)

// Env names the one environment variable of the hand-off from a host to
// its child: a JSON Handoff. It is the only variable the host adds; the
// child removes it from its environment before its role runs, so the
// plugin and what it starts do not see it.
const Env = contain.EnvHandoff

// Handoff is everything a child is told: which role to play and with what
// arguments, where its result goes (children of Run), and contain's Stage
// (the containment policy and the host's pid for the first image, the
// Report of what was applied for the second).
type Handoff struct {
	Role   string          `json:"role"`
	Args   json.RawMessage `json:"args,omitempty"`
	Result string          `json:"result,omitempty"` // the result pipe's descriptor or handle (Run)
	contain.Stage
}

// exitBadHandoff is the exit status of a child whose hand-off is unusable.
const exitBadHandoff = 125

var roles struct {
	sync.Mutex
	m map[string]func(args json.RawMessage) int
}

// Register names a role a child can play: main runs with the role's
// arguments (the JSON the host passed to Command or Run) and returns the
// exit status. The package that owns the role registers it from init, so
// every program that links the package can serve it. Registering a name
// twice panics.
func Register(role string, main func(args json.RawMessage) int) {
	roles.Lock()
	defer roles.Unlock()
	if roles.m == nil {
		roles.m = map[string]func(json.RawMessage) int{}
	}
	if _, dup := roles.m[role]; dup {
		panic("child: role " + role + " registered twice")
	}
	roles.m[role] = main
}

// current is this process's hand-off, once Main read it.
var current *Handoff

// Main must run first thing in main (isolate.Main and
// conformance.isolate.Main call it). In a process started by Command or Run
// it confines the process (contain.Enter: the first image executes itself
// again), runs the role it was started for and exits with the role's
// status: it never returns. Anywhere else it returns at once.
func Main() {
	raw, ok := os.LookupEnv(Env)
	if !ok {
		return
	}
	var h Handoff
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		fmt.Fprintf(os.Stderr, "clawd child: bad %s: %v\n", Env, err)
		os.Exit(exitBadHandoff)
	}
	contain.Enter(&h.Stage, func() ([]byte, error) { return json.Marshal(h) })
	// Confined (or never asked to be): from here on the plugin may run.
	_ = os.Unsetenv(Env)
	current = &h
	roles.Lock()
	main := roles.m[h.Role]
	roles.Unlock()
	if main == nil {
		fmt.Fprintf(os.Stderr, "clawd child: this program does not serve the role %q (it serves: %s)\n", h.Role, roleNames())
		os.Exit(exitBadHandoff)
	}
	os.Exit(main(h.Args))
}

func roleNames() string {
	roles.Lock()
	defer roles.Unlock()
	var names []string
	for n := range roles.m {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Role is the role this process plays as a child, "" if it is none.
func Role() string {
	if current == nil {
		return ""
	}
	return current.Role
}

// Command returns a command that runs exe with argv as a child playing
// role with args (encoded as JSON). With pol it is confined by pol
// (contain.Prepare: own process group, PID namespace and pids cgroup on
// Linux); the returned Tree, nil if none, must be released once the child
// was reaped. Without pol it only gets its own process group and dies with
// this process. The caller adds Stdout and Stderr and starts it
// with contain.Start. A nil env means os.Environ(). files become the
// child's descriptors 3 on (ExtraFiles): they are set before the policy is
// applied, which keeps them and closes every other inherited descriptor.
// On Windows they are inherited handles (the only ones besides stdio, by
// PROC_THREAD_ATTRIBUTE_HANDLE_LIST), with the same values in the child as
// here: the caller tells the child their values (Handles).
func Command(exe string, argv []string, env []string, role string, args any, pol *contain.Policy, files ...*os.File) (*exec.Cmd, *contain.Tree, error) {
	return command(exe, argv, env, Handoff{Role: role}, args, pol, func(cmd *exec.Cmd) { attachFiles(cmd, files) })
}

// command builds the child; attach gives it its descriptors before
// contain.Prepare, which keeps exactly those.
func command(exe string, argv, env []string, h Handoff, args any, pol *contain.Policy, attach func(*exec.Cmd)) (*exec.Cmd, *contain.Tree, error) {
	if args != nil {
		js, err := json.Marshal(args)
		if err != nil {
			return nil, nil, fmt.Errorf("child: encode the arguments of role %s: %w", h.Role, err)
		}
		h.Args = js
	}
	cmd := Exec(exe, argv...)
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = env
	attach(cmd)
	if pol != nil {
		st, err := contain.Prepare(cmd, *pol)
		if err != nil {
			return nil, nil, err
		}
		h.Stage = st
	} else {
		setGroup(cmd)
	}
	js, err := json.Marshal(h)
	if err != nil {
		h.Tree.Release()
		return nil, nil, fmt.Errorf("child: encode the hand-off: %w", err)
	}
	cmd.Env = append(withoutEnv(cmd.Env), Env+"="+string(js))
	return cmd, h.Tree, nil
}

// withoutEnv drops a hand-off this process inherited.
func withoutEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, Env+"=") {
			out = append(out, kv)
		}
	}
	return out
}
