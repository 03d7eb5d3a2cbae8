package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScan(t *testing.T) {
	out := `=== RUN   TestA
    a_test.go:10: no FIFO files on windows
--- SKIP: TestA (0.00s)
=== RUN   TestB
=== RUN   TestB/x
=== PAUSE TestB/x
=== CONT  TestB/x
    b_test.go:20: make not found
=== NAME  TestB
    b_test.go:5: a log line of the parent
--- PASS: TestB (0.00s)
    --- SKIP: TestB/x (0.00s)
=== RUN   TestC
    c_test.go:1: boom
--- FAIL: TestC (0.01s)
`
	skips, fails := scan([]byte(out))
	assert.Equal(t, []string{
		"TestA: a_test.go:10: no FIFO files on windows",
		"TestB/x: b_test.go:20: make not found",
	}, skips)
	assert.Equal(t, []string{"--- FAIL: TestC (0.01s)"}, fails)
}

func TestSkipRegexp(t *testing.T) {
	win := targets()["windows/amd64"]
	re := regexp.MustCompile(skipRegexp(win, "./isolate"))
	assert.True(t, re.MatchString("TestStderrIsLogged"))
	assert.False(t, re.MatchString("TestStderrIsLoggedToo"), "anchored")
	assert.False(t, re.MatchString("TestCrashIsContainedAndRestarted"))
	assert.Equal(t, "", skipRegexp(win, "./internal/dl"), "nothing listed: no -test.skip")
	for _, n := range notRun {
		assert.NotEmpty(t, n.why, "%s %s: every test not run says why", n.pkg, n.test)
		_, ok := targets()[n.target]
		assert.True(t, ok, "unknown target %s", n.target)
	}
}

// The overlay is made from this Go's own file: the fallback gains Wine's
// status, and nothing else changes.
func TestWineOverlay(t *testing.T) {
	dir := t.TempDir()
	flag, err := wineOverlay(dir)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(flag, "-overlay="))
	patched, err := os.ReadFile(filepath.Join(dir, "wine_at_windows.go.overlay"))
	require.NoError(t, err)
	assert.Contains(t, string(patched), "STATUS_NOT_SUPPORTED,\n")
	assert.Contains(t, string(patched), "NTStatus(0xC0000002):")
	assert.Equal(t, 1, strings.Count(string(patched), "NTStatus(0xC0000002)"))
}

func TestFailedTests(t *testing.T) {
	out := []byte("=== RUN   TestA\n--- FAIL: TestA (0.1s)\n    --- FAIL: TestB/sub (0.0s)\n--- PASS: TestC (0.0s)\n--- FAIL: TestD (2.1s)\nFAIL\n")
	assert.Equal(t, "^(TestA|TestD)$", failedTests(out))
	assert.Equal(t, "", failedTests([]byte("--- PASS: TestA (0.1s)\nok\n")))
}
