package main

import (
	"errors"
	"io/fs"
	"regexp"
	"strings"
	"time"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/conformance"
)

// checkReportJSON is what `check --json` prints (docs/cli.md): the contract's ok
// and checks, and the schema, the counts and the durations besides.
type checkReportJSON struct {
	Schema     int              `json:"schema"`
	OK         bool             `json:"ok"`
	Library    string           `json:"library,omitempty"`
	Manifest   string           `json:"manifest,omitempty"`
	Counts     checkCounts      `json:"counts"`
	DurationMS float64          `json:"duration_ms"`
	Checks     []checkResultOut `json:"checks"`
}

type checkCounts struct {
	Total int `json:"total"`
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Skip  int `json:"skip"`
}

type checkResultOut struct {
	ID         string             `json:"id"`
	Status     conformance.Status `json:"status"`
	Message    string             `json:"message"`
	DurationMS float64            `json:"duration_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func newCheckJSON(rep *conformance.Report, took time.Duration) checkReportJSON {
	out := checkReportJSON{Schema: schemaVersion, OK: rep.OK, Library: rep.Library, Manifest: rep.Manifest, DurationMS: ms(took),
		Checks: make([]checkResultOut, 0, len(rep.Checks)),
		Counts: checkCounts{Total: len(rep.Checks), Pass: rep.Count(conformance.StatusPass), Fail: rep.Count(conformance.StatusFail),
			Warn: rep.Count(conformance.StatusWarn), Skip: rep.Count(conformance.StatusSkip)}}
	for _, c := range rep.Checks {
		out.Checks = append(out.Checks, checkResultOut{ID: c.ID, Status: c.Status, Message: c.Message, DurationMS: ms(c.Duration)})
	}
	return out
}

// countSelected is how many checks --only and --skip select, by the rule
// conformance.Only and conformance.Skip follow: an id matching any --only
// (every id when there is none) and no --skip. The patterns compile: the
// caller checked them.
func countSelected(only, skip []string) int {
	match := func(pats []string, id string) bool {
		for _, p := range pats {
			if regexp.MustCompile(p).MatchString(id) {
				return true
			}
		}
		return false
	}
	n := 0
	for _, c := range conformance.Checks() {
		if (len(only) == 0 || match(only, c.ID)) && !match(skip, c.ID) {
			n++
		}
	}
	return n
}

// checkErrorCode is the code of a check that could not run at all.
func checkErrorCode(err error) string {
	switch {
	case clawerr.CodeOf(err) != "":
		return string(clawerr.CodeOf(err))
	case errors.Is(err, fs.ErrNotExist):
		return codeNotFound
	}
	return string(clawerr.OpenFailed)
}

// selection names the flags that select checks: "--only a --skip b".
func selection(only, skip []string) string {
	var parts []string
	for _, p := range only {
		parts = append(parts, "--only "+p)
	}
	for _, p := range skip {
		parts = append(parts, "--skip "+p)
	}
	return strings.Join(parts, " ")
}
