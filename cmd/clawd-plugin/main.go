// Command clawd-plugin inspects, runs and signs ClawD ABI v1 plugins (see
// DESIGN.md, section 4). This version implements inspect, run, keygen,
// sign and verify; check and new are listed in the usage and exit 2.
//
//	clawd-plugin inspect [--json] [--timeout DUR] LIB
//	clawd-plugin run [--plugins DIR]... [--events FILE] [--json] [--watch]
//	clawd-plugin keygen | sign | verify
//
// inspect opens the plugin in a child process (this binary re-executed with
// a hidden verb), so a plugin that crashes, exits or hangs while loading is
// reported as crashed or timeout instead of taking the command down. The
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

	"github.com/clawd-go/clawd/internal/child"
)

// Exit statuses.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
)

func main() {
	// The re-executed child: it must run before anything else, and only
	// when started by internal/child (the hidden verb alone is not enough).
	if len(os.Args) > 1 && os.Args[1] == inspectChildVerb && child.IsChild() {
		os.Exit(inspectChild(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usageText = `usage: clawd-plugin <verb> [flags] [args]

verbs:
  inspect [--json] [--timeout DUR] LIB
        open the plugin in a child process and print its name, version,
        ABI version, callbacks and warnings (exit 0 valid, 1 invalid)
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

coming (not implemented yet in this version):
  check [--json] [--junit FILE] LIB|DIR   run the conformance suite
  new --lang c|cpp|rust|zig NAME          scaffold a plugin project

exit status: 0 ok, 1 invalid, 2 usage
`

var coming = map[string]bool{"check": true, "new": true}

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
