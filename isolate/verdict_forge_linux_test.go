package isolate_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
)

// The plugin writes the sandbox's event frames itself (testplugins/verdict.c),
// as a hostile plugin can: it shares the child's address space. A hook
// event frame without the token of the call in flight is stale: counted
// (StaleEvents, HookRefused), dropped, never a verdict, and the child
// serves on.

// A hook.block frame written after the call's result is not the next
// call's verdict.
func TestForgedVerdictAfterTheResultIsStale(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "go")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	r := openVerdict(t, clawd.WithCapabilities(abi.CapNetworkRelay, abi.CapFSRead), clawd.WithProjectDir(dir))
	require.Equal(t, clawd.Verdict{}, hookTool(t, r.p, "forge_late:"+fifo))
	// The call has returned: now the plugin's thread writes its frame.
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{1})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	// join waits for the thread: the frame is on the channel before its result.
	require.Equal(t, clawd.Verdict{}, hookTool(t, r.p, "join"), "the forged block became the next call's verdict")
	s := r.p.Stats()
	require.Equal(t, uint64(1), s.StaleEvents)
	require.Equal(t, uint64(1), s.HookRefused)
	require.Equal(t, uint64(0), s.HookVerdicts)

	require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "in flight", Plugin: "verdict"}, hookTool(t, r.p, "block"))
	require.Equal(t, uint64(1), r.p.Stats().HookVerdicts)
	require.Zero(t, r.p.Crashes(), "a stale frame is dropped, not a crash")
}

// hook.block frames a thread of the plugin writes on the call channel
// while the call runs carry no token of the call: refused, not applied.
func TestForgedVerdictFromAnotherThreadIsStale(t *testing.T) {
	r := openVerdict(t)
	require.Equal(t, clawd.Verdict{}, hookTool(t, r.p, "forge_other"), "a forged block became the call's verdict")
	s := r.p.Stats()
	require.Equal(t, uint64(2), s.StaleEvents)
	require.Equal(t, uint64(2), s.HookRefused)
	require.Equal(t, uint64(0), s.HookVerdicts)

	require.Equal(t, clawd.Verdict{Kind: clawd.Block, Reason: "in flight", Plugin: "verdict"}, hookTool(t, r.p, "block"))
	require.Zero(t, r.p.Crashes(), "the host's answers to the stale frames did not break the child")
}
