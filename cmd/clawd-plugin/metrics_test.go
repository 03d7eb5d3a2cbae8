package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/child"
)

// run --watch --metrics serves clawd_ metrics labelled by plugin while it
// runs: once the script is played, hello's call count is the script's
// number of events, and the latency histogram counts as many calls. An
// interrupt ends the run as usual.
func TestRunServesMetrics(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("run --watch ends on a signal, which Go cannot send to another process on Windows")
	}
	root := t.TempDir()
	pluginDir(t, root, "hello", cbuild.Library(t, "examples/c/hello/hello.c"), `"network.relay"`)
	script, err := filepath.Abs(filepath.Join("..", "..", "examples", "scripts", "session.jsonl"))
	require.NoError(t, err)
	data, err := os.ReadFile(script)
	require.NoError(t, err)
	events := bytes.Count(data, []byte("\n"))

	cmd := child.Exec(bin, "run", "--watch", "--metrics", "127.0.0.1:0", "--plugins", root, "--events", script)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	url := ""
	for url == "" && lines.Scan() {
		if m := regexp.MustCompile(`serving metrics url=(http://\S+/metrics)`).FindStringSubmatch(lines.Text()); m != nil {
			url = m[1]
		}
	}
	require.NotEmpty(t, url, "run printed no metrics address")
	// run prints each call's outcome once the dispatch returned, when the
	// host has counted it: the script is played when hello has answered
	// every event.
	played := 0
	for played < events && lines.Scan() {
		if strings.HasPrefix(lines.Text(), "  hello 1.0.0: ") {
			played++
		}
	}
	require.Equal(t, events, played, "run ended before playing the script")
	rest := make(chan string, 1)
	go func() {
		var b strings.Builder
		for lines.Scan() {
			b.WriteString(lines.Text() + "\n")
		}
		rest <- b.String()
	}()

	resp, err := http.Get(url)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "text/plain; version=0.0.4; charset=utf-8", resp.Header.Get("Content-Type"))
	page := string(b)
	assert.Contains(t, page, `clawd_plugin_calls_total{plugin="hello",version="1.0.0"} `+strconv.Itoa(events)+"\n")
	assert.Contains(t, page, "# TYPE clawd_plugin_call_duration_seconds histogram\n")
	assert.Contains(t, page, `clawd_plugin_call_duration_seconds_bucket{plugin="hello",le="+Inf"} `+strconv.Itoa(events)+"\n")
	assert.Contains(t, page, `clawd_plugin_call_duration_seconds_count{plugin="hello"} `+strconv.Itoa(events)+"\n")
	assert.Contains(t, page, `clawd_plugin_events_sent_total{plugin="hello"} 1`+"\n")
	assert.Contains(t, page, `clawd_plugin_state{plugin="hello",state="active"} 1`+"\n")

	// SIGTERM: the supervisor passes it on to the run host (a Ctrl-C
	// reaches the whole process group, which a test does not have).
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())
	assert.Contains(t, <-rest, "summary: "+strconv.Itoa(events)+" events")
}

// The text format: every family under its HELP and TYPE, a label value
// escaped, a histogram's buckets cumulative with +Inf equal to the count,
// errors by code.
func TestWriteMetrics(t *testing.T) {
	var s host.Stats
	s.Calls = 4
	s.Errors = map[clawerr.Code]uint64{clawerr.Timeout: 1, "": 1}
	s.Latency.Buckets[1], s.Latency.Buckets[3], s.Latency.Buckets[7] = 2, 1, 1
	s.Latency.Total = 3 * time.Second
	var b strings.Builder
	writeMetrics(&b, []host.PluginInfo{{Name: "b", Version: "1.0.0", Stats: s, Memory: 5 << 20}, {Name: `a"\` + "\n", Version: "2.0.0"}})
	out := b.String()
	for _, want := range []string{
		"# HELP clawd_plugin_calls_total Callbacks called through the host.\n# TYPE clawd_plugin_calls_total counter\n",
		`clawd_plugin_calls_total{plugin="a\"\\\n",version="2.0.0"} 0` + "\n",
		`clawd_plugin_calls_total{plugin="b",version="1.0.0"} 4` + "\n",
		`clawd_plugin_call_errors_total{plugin="b",code="other"} 1` + "\n",
		`clawd_plugin_call_errors_total{plugin="b",code="timeout"} 1` + "\n",
		`clawd_plugin_call_duration_seconds_bucket{plugin="b",le="1e-06"} 0` + "\n",
		`clawd_plugin_call_duration_seconds_bucket{plugin="b",le="1e-05"} 2` + "\n",
		`clawd_plugin_call_duration_seconds_bucket{plugin="b",le="0.001"} 3` + "\n",
		`clawd_plugin_call_duration_seconds_bucket{plugin="b",le="1"} 3` + "\n",
		`clawd_plugin_call_duration_seconds_bucket{plugin="b",le="+Inf"} 4` + "\n",
		`clawd_plugin_call_duration_seconds_sum{plugin="b"} 3` + "\n",
		`clawd_plugin_call_duration_seconds_count{plugin="b"} 4` + "\n",
		`clawd_plugin_memory_bytes{plugin="b"} 5.24288e+06` + "\n",
	} {
		assert.Contains(t, out, want)
	}
	// The plugin named with a quote sorts first: plugins in name order.
	assert.Less(t, strings.Index(out, `plugin="a`), strings.Index(out, `plugin="b"`))
	assert.NotContains(t, out, `clawd_plugin_memory_bytes{plugin="a`, "a plugin whose memory is not known has no line")
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		assert.Regexp(t, `^(# (HELP|TYPE) clawd_[a-z_]+ .+|clawd_[a-z_]+\{[^\n]*\} [0-9.e+-]+)$`, l)
	}
}
