// Command clawd-plugin inspects, runs and signs ClawD ABI v1 plugins (see
// DESIGN.md, section 4): inspect, check, run, keygen, sign, verify and new.
//
//	clawd-plugin inspect [--json] [--timeout DUR] LIB
//	clawd-plugin check [--json] [--junit FILE] [--only RE] [--skip RE] LIB|DIR
//	clawd-plugin run [--plugins DIR]... [--events FILE] [--json] [--watch]
//	clawd-plugin keygen | sign | verify
//	clawd-plugin new --lang c|cpp|rust|zig NAME [DIR]
//
// inspect opens the plugin in a child process (this binary re-executed with
// a hidden verb), so a plugin that crashes, exits or hangs while loading is
// reported as crashed or timeout instead of taking the command down; check
// runs each conformance check in a child of its own the same way. The
// child answers over a dedicated pipe (internal/child), so whatever the
// plugin prints to stdout never reaches ours.
//
// Exit status: 0 valid, 1 invalid (any error), 2 usage.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/clawd-go/clawd/isolate"
)

// Exit statuses.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
)

func main() {
	// The one child entry, first: a process sandbox child (run --sandbox
	// process, or a manifest's sandbox = "process"), inspect's child and
	// each conformance check's child, told apart by their hand-off.
	isolate.Main()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usageText = `usage: clawd-plugin <verb> [flags] [args]

verbs:
  inspect [--json] [--timeout DUR] LIB
        open the plugin in a child process and print its name, version,
        ABI version, callbacks and warnings (exit 0 valid, 1 invalid)
  check [--json] [--junit FILE] [--only RE] [--skip RE] [--timeout DUR]
        [--pub FILE]... LIB|DIR
        run the conformance suite, each check in a child process of its
        own; print a table, JSON (--json) and JUnit XML (--junit FILE);
        --list lists the checks (exit 0 no check failed, 1 any failed)
  run [--plugins DIR]... [--events FILE] [--json] [--watch]
      [--trust require|warn|off] [--pub FILE]... [-v]
        load the plugins of each DIR (default ./plugins), play the event
        script (JSON lines; stdin by default) and print plugin logs,
        events, each event's outcome and a summary (exit 1 if a plugin
        failed to load)
  keygen [--out PREFIX]
        write an Ed25519 key pair: PREFIX.key (private, mode 0600) and
        PREFIX.pub (default prefix clawd-plugin); print the public key
  sign --key FILE [--print] DIR|MANIFEST
        sign the manifest's entry for this OS and write the signature into
        the manifest (--print: only print it)
  verify --pub FILE [--pub FILE]... DIR|MANIFEST
        check the manifest's signature against the trusted keys, and its
        sha256 pin (exit 0 ok, 1 bad)
  new --lang c|cpp|rust|zig NAME [DIR]
        write a plugin project into DIR (default ./NAME): source, build
        file, plugin.toml and a README with the build and check commands

exit status: 0 ok, 1 invalid, 2 usage
`

var coming = map[string]bool{}

// verbFunc runs one verb: args exclude the verb; the result is the exit status.
type verbFunc func(args []string, stdout, stderr io.Writer) int

// verbs maps each implemented verb to its function. A verb in its own file
// adds itself here from an init function.
var verbs = map[string]verbFunc{"inspect": inspect}

// run is the command line without the child hook: args exclude argv[0].
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	verb, rest := args[0], args[1:]
	if f, ok := verbs[verb]; ok {
		return f(rest, stdout, stderr)
	}
	switch {
	case verb == "help" || verb == "-h" || verb == "--help" || verb == "-help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	case coming[verb]:
		fmt.Fprintf(stderr, "clawd-plugin: %s: not implemented yet in this version\n", verb)
		return exitUsage
	}
	fmt.Fprintf(stderr, "clawd-plugin: unknown verb %q\n\n%s", verb, usageText)
	return exitUsage
}

// parseInterspersed parses flags that may come before or after the
// positional arguments (inspect LIB --json), which flag.Parse alone does not.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
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
