package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/clawd-go/clawd/conformance"
	"github.com/clawd-go/clawd/internal/manifestfile"
)

// checkTargets expands check's arguments: a directory that holds no
// manifest but plugin directories (a plugin directory of run's --plugins)
// stands for each of them, in name order; anything else stands for itself.
func checkTargets(args []string) []string {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() || hasPluginManifest(a) {
			out = append(out, a)
			continue
		}
		ents, err := os.ReadDir(a)
		if err != nil {
			out = append(out, a)
			continue
		}
		var subs []string
		for _, e := range ents {
			sub := filepath.Join(a, e.Name())
			if st, err := os.Stat(sub); err == nil && st.IsDir() && hasPluginManifest(sub) {
				subs = append(subs, sub)
			}
		}
		if len(subs) == 0 {
			out = append(out, a) // the suite says what is wrong with it
			continue
		}
		out = append(out, subs...)
	}
	return out
}

func hasPluginManifest(dir string) bool {
	for _, n := range []string{manifestfile.TOMLName, manifestfile.JSONName} {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// checkManyJSON is check --json over several plugins: one report each,
// in the shape of a single one, with the argument it was checked as.
type checkManyJSON struct {
	Schema     int              `json:"schema"`
	OK         bool             `json:"ok"`
	DurationMS float64          `json:"duration_ms"`
	Plugins    []checkTargetOut `json:"plugins"`
}

type checkTargetOut struct {
	Target string `json:"target"`
	checkReportJSON
	Error *errorJSON `json:"error,omitempty"` // the suite could not run on it
}

// checkMany runs the suite on each target: a failure of one, even one the
// suite cannot run on, never stops the others. The exit status is that of
// the worst.
func checkMany(ctx context.Context, targets []string, opts []conformance.Option, asJSON bool, junit string, stdout, stderr io.Writer) int {
	start := time.Now()
	all := checkManyJSON{Schema: schemaVersion, OK: true}
	var suites []junitSuite
	failed := 0
	for i, t := range targets {
		began := time.Now()
		rep, err := conformance.Run(ctx, t, opts...)
		out := checkTargetOut{Target: t}
		if err != nil {
			fmt.Fprintf(stderr, "clawd-plugin check: %s: %v\n", t, err)
			out.Error = &errorJSON{Code: checkErrorCode(err), Message: err.Error()}
			out.Schema = schemaVersion
		} else {
			out.checkReportJSON = newCheckJSON(rep, time.Since(began))
			suites = append(suites, junitSuiteOf(t, rep, time.Since(began)))
			if !asJSON {
				if i > 0 {
					fmt.Fprintln(stdout)
				}
				writeCheckTable(stdout, t, rep)
			}
		}
		if err != nil || !rep.OK {
			all.OK = false
			failed++
		}
		all.Plugins = append(all.Plugins, out)
	}
	all.DurationMS = ms(time.Since(start))
	if asJSON {
		data, _ := json.Marshal(all)
		fmt.Fprintf(stdout, "%s\n", data)
	} else {
		verdict := "ok"
		if !all.OK {
			verdict = "FAILED"
		}
		fmt.Fprintf(stdout, "\n%s: %s checked, %d failed\n", verdict, plural(len(targets), "plugin", "plugins"), failed)
	}
	if junit != "" {
		data, err := xml.MarshalIndent(junitSuites{Suites: suites}, "", "  ")
		if err == nil {
			err = os.WriteFile(junit, append([]byte(xml.Header), append(data, '\n')...), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "clawd-plugin check: writing %s: %v\n", junit, err)
			return exitInvalid
		}
	}
	if !all.OK {
		return exitInvalid
	}
	return exitOK
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}
