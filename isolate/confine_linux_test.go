package isolate_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
)

// The tests of this file: what a sandboxed plugin starts with. The host
// runs as root here, the case the capability drop and the network
// namespace are for.

// confinedHostile opens the hostile plugin in the sandbox with a logger
// that records its lines.
func confinedHostile(t *testing.T, opts ...clawd.Option) (*isolate.Plugin, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	p, err := isolate.OpenPlugin(cbuild.Plugin(t, "hostile"), append([]clawd.Option{clawd.WithLogger(zap.New(core))}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p, logs
}

// probe calls tool and returns the plugin's log line that starts with
// prefix: lines logged inside a call arrive before its result.
func probe(t *testing.T, p *isolate.Plugin, logs *observer.ObservedLogs, tool, prefix string) (string, error) {
	t.Helper()
	err := p.ToolCall(bg, "s1", tool, "{}")
	var found []string
	for _, e := range logs.TakeAll() {
		if strings.HasPrefix(e.Message, prefix) {
			found = append(found, e.Message)
		}
	}
	require.Len(t, found, 1, "log lines %q after %s", found, tool)
	return found[0], err
}

func requireDenied(t *testing.T, err error) {
	t.Helper()
	require.Equal(t, clawerr.CallbackError, clawerr.CodeOf(err), "%v", err)
	require.ErrorIs(t, err, abi.CapabilityDenied)
}

func TestConfinedNoSockets(t *testing.T) {
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer udp.Close()
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer tcp.Close()
	path := filepath.Join(t.TempDir(), "host.sock")
	ux, err := net.Listen("unix", path)
	require.NoError(t, err)
	defer ux.Close()

	p, logs := confinedHostile(t)
	require.NoError(t, p.SessionStart(bg, "s1"))
	for _, c := range []struct{ tool, line string }{
		{fmt.Sprintf("udp:%d", udp.LocalAddr().(*net.UDPAddr).Port), "udp: errno 13 (EACCES)"},
		{"raw", "raw: errno 13 (EACCES)"},
		{"unix:" + path, "unix: errno 13 (EACCES)"},
		{fmt.Sprintf("connect:%d", tcp.Addr().(*net.TCPAddr).Port), "connect: errno 13 (EACCES)"},
	} {
		line, err := probe(t, p, logs, c.tool, strings.SplitN(c.line, ":", 2)[0]+":")
		require.Equal(t, c.line, line, c.tool)
		requireDenied(t, err)
	}
	rep := p.Containment()
	require.True(t, rep.Sockets, "%v", rep)
	require.True(t, rep.NetNS, "%v", rep)
}

// TestConfinedFDs: a descriptor the host opened without O_CLOEXEC (as a
// native plugin in the host may) does not reach the sandboxed plugin: it
// has stdin (/dev/null), stdout, stderr and the four channel pipes.
func TestConfinedFDs(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "leaked")
	require.NoError(t, os.WriteFile(secret, []byte("secret"), 0o600))
	leaked, err := unix.Open(secret, unix.O_RDONLY, 0) // no O_CLOEXEC: inherited by every fork
	require.NoError(t, err)
	defer unix.Close(leaked)

	p, logs := confinedHostile(t)
	line, err := probe(t, p, logs, "fds", "fds:")
	require.NoError(t, err)
	const want = "fds: 0:/dev/null 1:pipe 2:pipe 3:pipe 4:pipe 5:pipe 6:pipe"
	require.True(t, strings.HasPrefix(line, want), "%s", line)
	require.NotContains(t, line, secret)
	// Past the channel only the child's own Go runtime may have opened
	// something since: its netpoller (epoll and its wake-up eventfd).
	for _, f := range strings.Fields(strings.TrimPrefix(line, want)) {
		_, what, _ := strings.Cut(f, ":")
		require.Contains(t, []string{"anon_inode:[eventpoll]", "anon_inode:[eventfd]"}, what, "%s in %s", f, line)
	}
}

func TestConfinedEnv(t *testing.T) {
	t.Setenv("CLAWD_TEST_SECRET", "hunter2")
	t.Setenv("CLAWD_TEST_GIVEN", "from the host")
	p, logs := confinedHostile(t, clawd.WithEnv("CLAWD_TEST_GIVEN", "CLAWD_TEST_SET=1", "CLAWD_TEST_ABSENT"))
	line, err := probe(t, p, logs, "env", "env:")
	require.NoError(t, err)

	want := []string{"HOME", "CLAWD_TEST_GIVEN", "CLAWD_TEST_SET"} // not even the hand-off: the child drops it before loading
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "LC_"), slices.Contains([]string{"PATH", "LANG", "LANGUAGE", "TZ",
			"GODEBUG", "GOTRACEBACK", "GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GORACE"}, name):
			want = append(want, name)
		}
	}
	slices.Sort(want)
	require.Equal(t, "env: "+strings.Join(want, " "), line)
	require.NotContains(t, line, "CLAWD_TEST_SECRET")
}

func TestConfinedNoCapabilities(t *testing.T) {
	require.Zero(t, os.Geteuid(), "the host runs as root here")
	p, logs := confinedHostile(t)
	line, err := probe(t, p, logs, "caps", "caps:")
	require.NoError(t, err)
	const none = "0000000000000000"
	require.Equal(t, "caps: CapInh: "+none+"; CapPrm: "+none+"; CapEff: "+none+"; CapBnd: "+none+
		"; CapAmb: "+none+"; NoNewPrivs: 1; Seccomp: 2", line)
}
