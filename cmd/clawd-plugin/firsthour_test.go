package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
)

// jsonRecords decodes run --json output, one object per line.
func jsonRecords(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		recs = append(recs, m)
	}
	return recs
}

// The summary is read after the plugins are closed: an event a plugin
// sends from on_unload is printed and counted like any other.
func TestRunSummaryCountsWhatOnUnloadSent(t *testing.T) {
	root := t.TempDir()
	pluginDir(t, root, "echo", cbuild.Plugin(t, "echo"), `"network.relay"`)
	out, _, code := runIn(t, oneStart, "--plugins", root, "--json")
	require.Equal(t, exitOK, code, out)
	recs := jsonRecords(t, out)
	printed, unload := 0, false
	for _, r := range recs {
		if r["type"] == "event" {
			printed++
			unload = unload || strings.Contains(string(mustJSON(t, r["params"])), "on_unload")
		}
	}
	assert.True(t, unload, "echo sends an event from on_unload:\n%s", out)
	last := recs[len(recs)-1]
	require.Equal(t, "summary", last["type"])
	assert.Equal(t, float64(printed), last["summary"].(map[string]any)["events_sent"], "every event printed is counted")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
