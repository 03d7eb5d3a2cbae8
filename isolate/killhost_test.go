package isolate_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
)

// envHostMode makes the test binary a host that opens the plugin it names,
// prints its child's pid and waits to be killed: it reads its stdin, which
// the test holds open, so it never ends on its own before the test does.
const envHostMode = "CLAWD_ISOLATE_TEST_HOST"

func hostMode() {
	var pids []string
	for _, lib := range strings.Split(os.Getenv(envHostMode), string(os.PathListSeparator)) {
		p, err := isolate.OpenPlugin(lib)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pids = append(pids, strconv.Itoa(p.PID()))
	}
	fmt.Println(strings.Join(pids, " "))
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

func TestChildrenDieWithTheHost(t *testing.T) {
	if !supportsDeathSignal {
		t.Skip("the child dies with its parent on Linux and Windows")
	}
	libs := cbuild.Plugin(t, "hostile") + string(os.PathListSeparator) + cbuild.Plugin(t, "echo")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envHostMode+"="+libs)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	var pids []int
	for _, f := range strings.Fields(line) {
		pid, err := strconv.Atoi(f)
		require.NoError(t, err)
		require.True(t, running(pid))
		pids = append(pids, pid)
	}
	require.Len(t, pids, 2)

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	// Polled until gone, with no deadline of its own: the children are not
	// the test's to wait for. A child that outlives its host keeps this
	// loop going until the test binary's -timeout fails the test.
	for _, pid := range pids {
		for running(pid) {
			time.Sleep(5 * time.Millisecond)
		}
	}
}
