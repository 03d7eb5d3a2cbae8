// Command clawd-plugin inspects, checks, runs and signs ClawD ABI v1 plugins
// and installs plugin packages (the contract: docs/cli.md): inspect, check,
// run, keygen, sign, verify, new, version, completion and help; pack,
// index, install, update, rollback, remove, list and search.
//
//	clawd-plugin inspect [--json] [--timeout DUR] LIB
//	clawd-plugin check [--json] [--junit FILE] [--only RE] [--skip RE] LIB|DIR
//	clawd-plugin run [--plugins DIR]... [--plugin DIR|FILE.wasm]... [--events FILE] [--json] [--watch]
//	clawd-plugin keygen | sign | verify
//	clawd-plugin new --lang c|cpp|rust|zig NAME [DIR]
//	clawd-plugin pack --key PUBLISHER.key DIR -o FILE
//	clawd-plugin index build --key INDEX.key DIR
//	clawd-plugin install --index DIR|URL --index-key INDEX.pub --dir PLUGINS [--yes] NAME[@VERSION]
//	clawd-plugin update|rollback|remove|verify --dir PLUGINS [...] NAME
//	clawd-plugin list --dir PLUGINS [--json]
//
// inspect opens the plugin in a child process (this binary re-executed with
// a hidden verb), so a plugin that crashes, exits or hangs while loading is
// reported as crashed or timeout instead of taking the command down; check
// runs each conformance check in a child of its own the same way. The
// child answers over a dedicated pipe (internal/child), so whatever the
// plugin prints to stdout never reaches ours.
//
// Exit status: 0 valid, 1 invalid (any error), 2 usage, 3 (run) a plugin
// running in process crashed or ended the host process.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/clawd-go/clawd/isolate"
)

// Exit statuses.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
	// exitCrashed (3, supervise.go): run's host process crashed.
)

func main() {
	// The one child entry, first: a process sandbox child (run --sandbox
	// process, or a manifest's sandbox = "process"), inspect's child and
	// each conformance check's child, told apart by their hand-off.
	isolate.Main()
	self = invokedAs(os.Args[0])
	if len(os.Args) > 1 && os.Args[1] == "run" {
		if code, ok := superviseRun(os.Args[2:]); ok {
			os.Exit(code)
		}
	}
	code := run(os.Args[1:], os.Stdout, os.Stderr)
	note("done")
	os.Exit(code)
}

var coming = map[string]bool{}

// verbFunc runs one verb: args exclude the verb; the result is the exit status.
type verbFunc func(args []string, stdout, stderr io.Writer) int

// verbs maps each implemented verb to its function. A verb in its own file
// adds itself here from an init function.
var verbs = map[string]verbFunc{"inspect": inspect}

// run is the command line without the child hook: args exclude argv[0].
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText())
		return exitUsage
	}
	verb, rest := args[0], args[1:]
	switch verb {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText())
		return exitOK
	case "-version", "--version":
		verb = "version"
	}
	if f, ok := verbs[verb]; ok {
		if wantsHelp(rest) && verb != "help" {
			// The verb parses its flags and prints its help on stdout.
			helpWriter = stdout
			defer func() { helpWriter = nil }()
			f(rest, stdout, stderr)
			return exitOK
		}
		return f(rest, stdout, stderr)
	}
	if coming[verb] {
		fmt.Fprintf(stderr, "clawd-plugin: %s: not implemented yet in this version\n", verb)
		return exitUsage
	}
	fmt.Fprint(stderr, unknownVerb("clawd-plugin", verb))
	return exitUsage
}

// self is the command as the user typed it, for hints that give a
// command line to type: "clawd-plugin" when it was found on the PATH (go
// install), "bin/clawd-plugin" after make build, as typed.
var self = "clawd-plugin"

// invokedAs is self for argv[0]: the name alone when the shell found it on
// the PATH; the path as typed otherwise, but for go run's temporary build.
func invokedAs(arg0 string) string {
	switch {
	case !strings.ContainsAny(arg0, `/\`):
		return "clawd-plugin"
	case strings.Contains(arg0, "go-build"):
		return "go run ./cmd/clawd-plugin"
	case strings.ContainsAny(arg0, " \t\n\"'$`"):
		return "clawd-plugin" // not something to paste into a shell as it is
	}
	return arg0
}

// errHelpShown is parseInterspersed's error after it printed a verb's help.
var errHelpShown = errors.New("help shown")

// parseInterspersed parses flags that may come before or after the
// positional arguments (inspect LIB --json), which flag.Parse alone does not.
// Asked for help (-h, --help) under run, it prints the verb's help on
// stdout and returns errHelpShown.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	if helpWriter != nil && wantsHelp(args) {
		printVerbHelp(helpWriter, fs.Name(), fs)
		return nil, errHelpShown
	}
	// flag would print the error and the whole usage page; the error is
	// said here in one line instead, with the nearest flag.
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	defer func() { fs.SetOutput(out); fs.Usage = usage }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage()
				return nil, err
			}
			fe := describeFlagError(fs, err)
			fmt.Fprintf(out, "clawd-plugin %s: %s\n", fs.Name(), fe.msg)
			return nil, fe
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil // after "--" everything is positional
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}
