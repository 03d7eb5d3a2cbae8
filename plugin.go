package clawd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/contain"
)

// Plugin is one open plugin. Its methods are safe for concurrent use.
type Plugin interface {
	// Name is the plugin's name (the file stem if the plugin left it NULL).
	Name() string
	// Version is the plugin's version string ("" if it left it NULL).
	Version() string
	// ABIVersion is the abi_version the plugin declared.
	ABIVersion() uint32
	// Has reports whether the plugin set callback cb.
	Has(cb abi.Callback) bool
	// Callbacks lists the callbacks the plugin set, in table order.
	Callbacks() []abi.Callback
	// Warnings lists what loads but is not right (a NULL name, a version
	// that is not semver, a signal handler the plugin installed).
	Warnings() []string
	// Call runs one callback; see the package doc for what it returns.
	Call(ctx context.Context, c Call) error
	// Stats counts what the plugin did through its contexts.
	Stats() Stats
	// Close calls on_unload once, after the calls in flight, and releases
	// the plugin. Later calls return closed; a second Close returns the
	// first one's result.
	Close() error
}

// Op names one of the callbacks that Call runs.
type Op uint8

// The ops, one per event callback of ClawaPlugin.
const (
	OpSessionStart Op = iota // on_session_start(ctx, session_id)
	OpSessionEnd             // on_session_end(ctx, session_id)
	OpToolCall               // on_tool_call(ctx, session_id, tool_name, input_json)
	OpMessage                // on_message(ctx, session_id, role, content_json)
	NumOps         = 4
)

var opCallbacks = [NumOps]abi.Callback{abi.OnSessionStart, abi.OnSessionEnd, abi.OnToolCall, abi.OnMessage}

// Callback is the ClawaPlugin entry the op calls.
func (o Op) Callback() abi.Callback {
	if o < NumOps {
		return opCallbacks[o]
	}
	return abi.NumCallbacks
}

// Arity is how many strings the callback takes after its context: 1 or 3.
func (o Op) Arity() int {
	if o == OpToolCall || o == OpMessage {
		return 3
	}
	return 1
}

// String is the callback's field name, such as "on_tool_call".
func (o Op) String() string {
	if o < NumOps {
		return opCallbacks[o].String()
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Call describes one callback and its arguments. The strings are passed as
// they are, each as a NUL-terminated C string: one that contains a NUL is
// refused with invalid_argument, and so is an input_json or content_json
// that is not JSON text (Validate). The plugin sees copies, valid only
// while its callback runs.
type Call struct {
	Op   Op
	Args [3]string // in C order; Args[1:] are unused by the one-string ops
}

// SessionStart is the call of on_session_start.
func SessionStart(sessionID string) Call {
	return Call{Op: OpSessionStart, Args: [3]string{sessionID}}
}

// SessionEnd is the call of on_session_end.
func SessionEnd(sessionID string) Call {
	return Call{Op: OpSessionEnd, Args: [3]string{sessionID}}
}

// ToolCall is the call of on_tool_call; inputJSON must be JSON text.
func ToolCall(sessionID, toolName, inputJSON string) Call {
	return Call{Op: OpToolCall, Args: [3]string{sessionID, toolName, inputJSON}}
}

// Message is the call of on_message. role is "user" or "assistant" by the
// ABI; it is passed as given. contentJSON must be JSON text.
func Message(sessionID, role, contentJSON string) Call {
	return Call{Op: OpMessage, Args: [3]string{sessionID, role, contentJSON}}
}

// Containment says what the operating system enforces on a plugin: the
// Landlock ABI level and what it restricts, no_new_privs, rlimits, death
// with the parent, and Notes on what could not be enforced. Its JSON is
// the "sandbox" object of `clawd-plugin inspect --json`.
type Containment struct {
	OS             string   `json:"os"`
	LandlockABI    int      `json:"landlock_abi"`    // 0: not applied
	Filesystem     bool     `json:"filesystem"`      // file access restricted to the policy's paths
	TCP            bool     `json:"tcp"`             // TCP connect and bind denied
	Signals        bool     `json:"signals"`         // signal scoping applied
	NoNewPrivs     bool     `json:"no_new_privs"`    // PR_SET_NO_NEW_PRIVS set
	Rlimits        bool     `json:"rlimits"`         // the policy asked for rlimits and all are in force
	DieWithParent  bool     `json:"die_with_parent"` // SIGKILL when the parent dies
	FDs            bool     `json:"fds"`             // inherited descriptors other than 0-2 and the kept ones closed
	Env            bool     `json:"env"`             // the environment is the allowlist plus the granted variables
	NoCapabilities bool     `json:"no_capabilities"` // every capability set empty: effective, permitted, inheritable, ambient, bounding
	UID            int      `json:"uid"`             // the uid and gid the plugin runs as
	GID            int      `json:"gid"`
	NetNS          bool     `json:"netns"`                   // an empty network namespace of its own
	IPCNS          bool     `json:"ipcns"`                   // an empty IPC namespace of its own: no System V IPC object or POSIX message queue of the host
	Sockets        bool     `json:"sockets"`                 // the seccomp filter refuses socket families
	PIDNamespace   bool     `json:"pid_namespace"`           // the child is the init of a PID namespace: its death kills every descendant
	Cgroup         int      `json:"cgroup,omitempty"`        // 1 or 2: the pids cgroup version that bounds and kills the tree; 0: none
	MaxProcesses   int      `json:"max_processes,omitempty"` // the plugin's share of the cgroup's pids.max
	Subreaper      bool     `json:"subreaper"`               // no PID namespace: the child adopts the orphans of its descendants
	Notes          []string `json:"notes,omitempty"`         // what could not be enforced and why, one sentence each

	// The system call filter and the keyring.
	Syscalls       int      `json:"syscalls_denied,omitempty"` // how many system calls the seccomp filter refuses, outright or by their arguments
	SyscallClasses []string `json:"syscall_classes,omitempty"` // what they are, in short: "exec", "keyring", "bpf", ...
	SessionKeyring bool     `json:"session_keyring"`           // a new, empty session keyring of its own, not the host's

	// Windows: the child's token as it reads it back.
	Integrity       string `json:"integrity,omitempty"`        // its integrity level: "low", "medium", ...
	RestrictedToken bool   `json:"restricted_token,omitempty"` // no privilege but SeChangeNotifyPrivilege, Administrators deny-only or absent
	NoWriteUp       bool   `json:"no_write_up,omitempty"`      // write access to its medium-integrity parent and to a file beside its home tried and refused
}

// String is one line for humans, such as "landlock v7 (filesystem, tcp,
// signals), no_new_privs, rlimits, dies with parent". (The conversion
// also keeps the fields the sandbox's own report's, checked by the
// compiler.)
func (c Containment) String() string { return contain.Report(c).String() }

// Contained is implemented by runtimes that confine the plugin (the
// process sandbox).
type Contained interface {
	Containment() Containment
}

// State is where a supervised plugin's process stands.
type State int32

// The states of a supervised plugin.
const (
	StateUp     State = iota // serving calls
	StateDown                // crashed or killed; a restart is pending, calls return unavailable
	StateFailed              // restarts given up; calls return unavailable
	StateClosed              // Close was called
)

func (s State) String() string {
	switch s {
	case StateUp:
		return "up"
	case StateDown:
		return "down"
	case StateFailed:
		return "failed"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("state(%d)", int32(s))
}

// Supervised is implemented by runtimes whose plugin lives in a process
// that is restarted after a crash (the process sandbox).
type Supervised interface {
	State() State
	Crashes() uint64  // processes that died or were killed
	Restarts() uint64 // processes started again after one
	PID() int         // the process serving now, 0 while it is down
}

// ErrNotJSON is the cause of the invalid_argument error of a call whose
// input_json or content_json is not JSON text.
var ErrNotJSON = errors.New("not JSON text")

// Validate checks what the ABI promises a plugin about a call's strings
// beyond their being C strings: the input_json of on_tool_call and the
// content_json of on_message are JSON text (RFC 8259, as encoding/json
// reads it, nested at most 10000 deep). It returns nil, or an
// invalid_argument *clawerr.Error naming the argument and matching
// ErrNotJSON. It allocates nothing when the call is valid and reads the
// text once (a few nanoseconds per hundred bytes, not json.Valid's
// cost). Every runtime of this module runs it before its plugin sees the
// call (after the checks that the plugin is open and has the callback); a
// runtime of your own (Register) should too.
func (c Call) Validate() error {
	if (c.Op == OpToolCall || c.Op == OpMessage) && !validJSON(c.Args[2]) {
		return c.notJSON()
	}
	return nil
}

// notJSON is Validate's refusal, with where the text goes wrong (the
// decoder's syntax error: paid only by a call that is refused).
func (c Call) notJSON() error {
	arg := cabi.ArgName(c.Op.Callback(), 2)
	cause := ErrNotJSON
	var syn *json.SyntaxError
	if err := json.Unmarshal([]byte(c.Args[2]), new(json.RawMessage)); errors.As(err, &syn) {
		cause = &jsonError{syn}
	} else if err != nil {
		cause = &jsonError{err}
	}
	return clawerr.New(clawerr.InvalidArgument, "", c.Op.String(),
		arg+" is not JSON text, which the ABI promises the plugin: pass a JSON value (such as {} for an empty "+arg+")", cause)
}

// jsonError is the decoder's account of bad JSON; it is ErrNotJSON.
type jsonError struct{ err error }

func (e *jsonError) Error() string {
	var syn *json.SyntaxError
	if errors.As(e.err, &syn) {
		return fmt.Sprintf("%v (at byte %d)", syn, syn.Offset)
	}
	return e.err.Error()
}
func (e *jsonError) Unwrap() []error { return []error{ErrNotJSON, e.err} }
