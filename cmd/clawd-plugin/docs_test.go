package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/conformance"
)

// codeSources are the patterns that put a code into what the command line
// prints: a clawerr Code constant, a code constant or assignment of this
// command, a code given to writeJSONFailure or a record.
var codeSources = []*regexp.Regexp{
	regexp.MustCompile(`\bCode\s*=\s*"([a-z][a-z_]*)"`),               // clawerr: Timeout Code = "timeout"
	regexp.MustCompile(`(?i)\bcode\w*\s*(?::=|=)\s*"([a-z][a-z_]*)"`), // codeUsage = "usage", code = "failed"
	regexp.MustCompile(`\bCode:\s*"([a-z][a-z_]*)"`),                  // record{Code: "x"}
	regexp.MustCompile(`writeJSONFailure\([^,]+,\s*"([a-z][a-z_]*)"`), // writeJSONFailure(w, "x", ...)
}

// printedCodes scans the non-test Go files of dirs for codes.
func printedCodes(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	codes := map[string]string{}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		require.NotEmpty(t, files, dir)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			for _, re := range codeSources {
				for _, m := range re.FindAllSubmatch(src, -1) {
					codes[string(m[1])] = f
				}
			}
		}
	}
	return codes
}

// documentedCodes are the codes docs/errors.md gives a row: the
// backquoted words of each table row's first cell.
func documentedCodes(t *testing.T) map[string]bool {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "errors.md"))
	require.NoError(t, err)
	codes := map[string]bool{}
	word := regexp.MustCompile("`([a-z][a-z_]*)`")
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || strings.TrimSpace(cells[0]) != "" {
			continue
		}
		for _, m := range word.FindAllStringSubmatch(cells[1], -1) {
			codes[m[1]] = true
		}
	}
	return codes
}

// Every code the command line can print has a row in docs/errors.md: the
// codes of clawerr (every failure of a plugin or a package) and the
// command's own.
func TestEveryPrintedCodeIsDocumented(t *testing.T) {
	printed := printedCodes(t, ".", filepath.Join("..", "..", "clawerr"))
	for _, c := range []string{"usage", "not_found", "no_plugins", "plugin_dir", "crashed", "open_failed", "busy"} {
		require.Contains(t, printed, c, "the scan finds the codes it must: its patterns still match the source")
	}
	documented := documentedCodes(t)
	require.Contains(t, documented, "abi_mismatch", "the scan reads the doc's tables")
	var missing []string
	for c, f := range printed {
		if !documented[c] {
			missing = append(missing, c+" ("+f+")")
		}
	}
	slices.Sort(missing)
	assert.Empty(t, missing, "codes the command prints that docs/errors.md has no row for")
}

// docs/cli.md's check --json example counts the suite as it is.
func TestCLIDocCountsTheSuite(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	require.NoError(t, err)
	m := regexp.MustCompile(`"counts":\{"total":(\d+),"pass":(\d+),"fail":(\d+),"warn":(\d+),"skip":(\d+)\}`).FindSubmatch(doc)
	require.NotNil(t, m, "the check --json example")
	n := make([]int, 5)
	for i := range n {
		n[i], _ = strconv.Atoi(string(m[i+1]))
	}
	assert.Equal(t, len(conformance.Checks()), n[0], "total")
	assert.Equal(t, n[0], n[1]+n[2]+n[3]+n[4], "the counts add up")
}
