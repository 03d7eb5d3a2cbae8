package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"github.com/clawd-go/clawd/internal/sigkey"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/clawd-go/clawd/conformance"
	"github.com/clawd-go/clawd/internal/optdefaults"
)

func init() { verbs["check"] = checkVerb }

// checkVerb runs the conformance suite: every check in a child process of
// its own (this binary re-executed), so a plugin that crashes fails one
// check and the others still report.
func checkVerb(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	junit := fs.String("junit", "", "also write a JUnit XML report to `FILE`, for CI systems")
	var only, skip, pubs multiFlag
	fs.Var(&only, "only", "run only the checks whose id matches the regular expression `RE` (repeatable)")
	fs.Var(&skip, "skip", "leave out the checks whose id matches `RE` (repeatable)")
	fs.Var(&pubs, "pub", "a trusted public key `FILE` to verify the manifest's signature with (repeatable)")
	timeout := fs.Duration("timeout", optdefaults.CheckTimeout, "how long each check may take")
	list := fs.Bool("list", false, "list the checks and exit")
	fs.Usage = func() { printVerbHelp(stderr, "check", fs) }
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagFailure(err, args, stdout)
	}
	if *list {
		writeCheckList(stdout)
		return exitOK
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "clawd-plugin check: "+format+"\n", a...)
		if *asJSON {
			writeJSONFailure(stdout, codeUsage, format, a...)
		}
		fs.Usage()
		return exitUsage
	}
	switch {
	case len(pos) == 0:
		return usage("missing LIB or DIR")
	case *timeout <= 0:
		return usage("--timeout must be positive")
	}
	opts := []conformance.Option{conformance.WithTimeout(*timeout)}
	for _, re := range only {
		if _, err := regexp.Compile(re); err != nil {
			return usage("--only %q: %v", re, err)
		}
		opts = append(opts, conformance.Only(re))
	}
	for _, re := range skip {
		if _, err := regexp.Compile(re); err != nil {
			return usage("--skip %q: %v", re, err)
		}
		opts = append(opts, conformance.Skip(re))
	}
	if countSelected(only, skip) == 0 {
		return usage("%s select no check (the ids: clawd-plugin check --list)", selection(only, skip))
	}
	var keys []ed25519.PublicKey
	for _, p := range pubs {
		k, err := sigkey.ReadPublicKeyFile(p)
		if err != nil {
			return usage("--pub %s: %v", p, err)
		}
		keys = append(keys, k)
	}
	if len(keys) > 0 {
		opts = append(opts, conformance.WithKeys(keys...))
	}

	// Ctrl-C goes to our process group only; cancelling kills the checks'
	// children, which run in groups of their own.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	targets := checkTargets(pos)
	if len(targets) > 1 {
		return checkMany(ctx, targets, opts, *asJSON, *junit, stdout, stderr)
	}
	target := targets[0]
	start := time.Now()
	rep, err := conformance.Run(ctx, target, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "clawd-plugin check: %v\n", err)
		if *asJSON {
			writeJSONFailure(stdout, checkErrorCode(err), "%v", err)
		}
		return exitInvalid
	}
	took := time.Since(start)
	if *asJSON {
		data, _ := json.Marshal(newCheckJSON(rep, took)) // strings and numbers: cannot fail
		fmt.Fprintf(stdout, "%s\n", data)
	} else {
		writeCheckTable(stdout, target, rep)
	}
	if *junit != "" {
		if err := writeJUnit(*junit, target, rep, took); err != nil {
			fmt.Fprintf(stderr, "clawd-plugin check: writing %s: %v\n", *junit, err)
			return exitInvalid
		}
	}
	if !rep.OK {
		return exitInvalid
	}
	return exitOK
}

func writeCheckList(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range conformance.Checks() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.ID, c.Severity, c.Description)
	}
	tw.Flush()
}

// writeCheckTable prints one line per check: status, id, message.
func writeCheckTable(w io.Writer, arg string, rep *conformance.Report) {
	fmt.Fprintf(w, "checking %s\n", arg)
	if rep.Manifest != "" {
		fmt.Fprintf(w, "manifest %s\n", rep.Manifest)
	}
	if rep.Library != "" && rep.Library != mustAbs(arg) {
		fmt.Fprintf(w, "library  %s\n", rep.Library)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range rep.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Status, c.ID, c.Message)
	}
	tw.Flush()
	verdict := "ok"
	if !rep.OK {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "\n%s: %d checks, %d pass, %d fail, %d warn, %d skip\n", verdict, len(rep.Checks),
		rep.Count(conformance.StatusPass), rep.Count(conformance.StatusFail),
		rep.Count(conformance.StatusWarn), rep.Count(conformance.StatusSkip))
}

func mustAbs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// JUnit XML: one testsuite, one testcase per check; a failure element for
// fail, skipped for skip, and the warning in system-out for warn (JUnit
// has no warning status, and a warning must not fail a CI build).
type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string     `xml:"name,attr"`
	Classname string     `xml:"classname,attr"`
	Time      string     `xml:"time,attr"`
	Failure   *junitText `xml:"failure"`
	Skipped   *junitText `xml:"skipped"`
	SystemOut string     `xml:"system-out,omitempty"`
}

type junitText struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func writeJUnit(path, arg string, rep *conformance.Report, took time.Duration) error {
	data, err := xml.MarshalIndent(junitSuiteOf(arg, rep, took), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(data, '\n')...), 0o644)
}

// junitSuiteOf is the report on one plugin as a JUnit testsuite.
func junitSuiteOf(arg string, rep *conformance.Report, took time.Duration) junitSuite {
	s := junitSuite{Name: "clawd-plugin check " + arg, Tests: len(rep.Checks), Time: seconds(took)}
	for _, c := range rep.Checks {
		tc := junitCase{Name: c.ID, Classname: "clawd.conformance." + group(c.ID), Time: seconds(c.Duration)}
		switch c.Status {
		case conformance.StatusFail:
			tc.Failure = &junitText{Message: c.Message, Text: c.Message}
			s.Failures++
		case conformance.StatusSkip:
			tc.Skipped = &junitText{Message: c.Message}
			s.Skipped++
		case conformance.StatusWarn:
			tc.SystemOut = "warning: " + c.Message
		}
		s.Cases = append(s.Cases, tc)
	}
	return s
}

// group is the part of a check id before its dot: export, init, ...
func group(id string) string {
	g, _, _ := strings.Cut(id, ".")
	return g
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
