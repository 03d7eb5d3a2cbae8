package isolate_test

import (
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
)

// The tests of this file: a sandboxed plugin tries the system calls the
// sandbox's seccomp filter refuses (testplugins/sysprobe.c), as an
// attacker would, and gets EPERM for each. The counter-proofs, the same
// calls without the filter, are internal/contain's TestSyscallsAllowed.

// hostSecret puts a key named clawd-test-secret into the host's session
// and user keyrings, as a login keeps a user's secrets there.
func hostSecret(t *testing.T) {
	t.Helper()
	for _, ring := range []int{unix.KEY_SPEC_SESSION_KEYRING, unix.KEY_SPEC_USER_KEYRING} {
		id, err := unix.AddKey("user", "clawd-test-secret", []byte("hunter2"), ring)
		require.NoError(t, err, "add a key to keyring %d", ring)
		t.Cleanup(func() { _, _ = unix.KeyctlInt(unix.KEYCTL_INVALIDATE, id, 0, 0, 0) })
	}
}

func sysprobe(t *testing.T) (*isolate.Plugin, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	p, err := isolate.OpenPlugin(cbuild.Plugin(t, "sysprobe"), clawd.WithLogger(zap.New(core)))
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	require.NoError(t, p.SessionStart(bg, "s1"))
	return p, logs
}

func TestSeccompDenies(t *testing.T) {
	hostSecret(t)
	// chmod and fchmod set the test binary's mode again: one with group
	// or other bits, which the filter refuses.
	st, err := os.Stat(os.Args[0])
	require.NoError(t, err)
	require.NotZero(t, st.Mode().Perm()&0o077, "mode %v of %s", st.Mode(), os.Args[0])
	p, logs := sysprobe(t)
	tools := []string{
		"keyctl_search_u", "keyctl_search_s", "keyctl_read_u", "keyctl_read_s", "add_key", "request_key",
		"memfd_exec", "memfd_execveat", "execve",
		"bpf", "perf_event_open", "userfaultfd",
		"unshare", "clone_newuser", "setns", "mount",
		"ptrace_traceme", "ptrace_attach",
		"kexec_load", "init_module",
		"personality_rie", "personality_anr",
		"name_to_handle_at", "open_by_handle_at",
		"chmod", "fchmod",
	}
	if runtime.GOARCH == "amd64" {
		tools = append(tools, "iopl", "x32", "int80")
	}
	const eperm = "errno 1 (EPERM)"
	for _, tool := range tools {
		line, err := probe(t, p, logs, tool, tool+":")
		require.Equal(t, tool+": "+eperm, line, tool)
		requireDenied(t, err)
	}
}

// TestSeccompAllows: what the filter lets through, for the plugins that
// need it: fork without exec, a memfd that cannot be executed, reading
// the personality, an owner-only mode on a file of its own.
func TestSeccompAllows(t *testing.T) {
	p, logs := sysprobe(t)
	for _, tool := range []string{"fork", "memfd", "personality_query", "chmod_home"} {
		line, err := probe(t, p, logs, tool, tool+":")
		require.Equal(t, tool+": ok", line, tool)
		require.NoError(t, err, tool)
	}
	rep := p.Containment()
	require.Positive(t, rep.Syscalls, "%v", rep)
	require.True(t, rep.SessionKeyring, "%v", rep)
	require.Contains(t, rep.String(), "syscalls denied (exec, keyring, bpf, perf, userfaultfd, namespaces, mount, ptrace, kexec, modules, personality, file handles,")
	require.Contains(t, rep.String(), "own session keyring, no sockets (seccomp), netns, ipcns")
}
