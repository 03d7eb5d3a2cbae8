package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// verbHelp is what `clawd-plugin VERB --help` prints besides the flags.
type verbHelp struct {
	name     string
	synopsis string // after "clawd-plugin "
	what     string // one paragraph
	example  string // one or more command lines
}

// helps lists every verb, in the order the top-level usage shows them.
var helps = []verbHelp{
	{"inspect", "inspect [--json] [--timeout DUR] LIB|DIR",
		"Open the plugin in a child process and print its name, version, ABI version, callbacks and warnings; given a plugin directory, also what its manifest asks for. Exit 0 valid, 1 invalid, 2 usage.",
		"clawd-plugin inspect --json examples/c/hello"},
	{"check", "check [--json] [--junit FILE] [--only RE] [--skip RE] [--timeout DUR] [--pub FILE]... LIB|DIR...\n       clawd-plugin check --list",
		"Run the conformance suite, each check in a child process of its own, and print a table (--json: one object, --junit FILE: JUnit XML too). --only and --skip select checks by id; selecting none is a usage error. Several plugins, or a directory of plugin directories, are checked one after the other (--json: {\"plugins\":[...]} with one report each). Exit 0 no check failed, 1 any failed, 2 usage.",
		"clawd-plugin check --skip 'callbacks\\.' build/libmyplugin.so"},
	{"run", "run [--plugins DIR]... [--plugin DIR|FILE.wasm]... [--events FILE] [--json] [--watch] [--strict] [--sandbox native|process] [--project DIR] [--trust require|warn|off] [--pub FILE]... [--lock FILE]... [-v]",
		"Load the plugins of each --plugins DIR (a directory of plugin directories; default ./plugins) and each --plugin DIR (one plugin directory), play the event script (JSON lines; stdin by default) through them (a plugin recorded in a clawd.lock beside it, or in a --lock FILE, loads only if its files match the lock, granted no more than it records) and print their log lines, events, each event's outcome and a summary. Exit 0, 1 if a plugin failed to load or none was found (with --strict also for a bad script line or a failed call), 2 usage or a DIR that does not exist, 3 a plugin running in process (native) crashed the host.",
		"clawd-plugin run --plugins examples/c --events examples/scripts/session.jsonl"},
	{"keygen", "keygen [--out PREFIX]",
		"Write an Ed25519 key pair, PREFIX.key (private, mode 0600) and PREFIX.pub (default prefix clawd-plugin), and print the public key.",
		"clawd-plugin keygen --out release"},
	{"sign", "sign --key FILE [--print] DIR|MANIFEST",
		"Sign the manifest's entry for this system and write the signature into the manifest (--print: only print it).",
		"clawd-plugin sign --key release.key examples/c/hello"},
	{"verify", "verify --pub FILE [--pub FILE]... DIR|MANIFEST\n       clawd-plugin verify --dir PLUGINS [--json] [NAME...]",
		"Check the manifest's signature against the trusted keys, and its sha256 pin; with --dir, check the installed plugins' files against PLUGINS/clawd.lock, naming each changed, missing or added file (checksum_mismatch). Exit 0 ok, 1 bad, 2 usage.",
		"clawd-plugin verify --pub release.pub examples/c/hello"},
	{"pack", "pack --key PUBLISHER.key [--json] DIR -o FILE",
		"Write the deterministic package (tar.gz) of the plugin in DIR to FILE: its manifest, every entry of its entry table and the files it lists, nothing else; and FILE.sig, its Ed25519 signature by the publisher's key. Exit 0, 1 refused, 2 usage.",
		"clawd-plugin pack --key publisher.key examples/c/hello -o build/index/hello-1.0.0.tar.gz"},
	{"index", "index build --key INDEX.key [--publisher PUB]... [--json] DIR\n       clawd-plugin index add|yank|unyank --key INDEX.key DIR PACKAGE...|NAME@VERSION...",
		"Write DIR/index.json and its signature index.json.sig, listing every package in DIR (build), after copying packages in (add), or marking releases yanked (yank, unyank); each write has a serial one above the last. Exit 0, 1 refused, 2 usage.",
		"clawd-plugin index build --key index.key build/index"},
	{"install", "install --index DIR|URL --index-key INDEX.pub --dir PLUGINS [--yes] [--quiet] [--json] NAME[@VERSION]\n       clawd-plugin install --dir PLUGINS --publisher-key PUB [--yes] FILE.tar.gz",
		"Install a plugin by name from a signed index (the newest non-yanked version that matches and runs here; @1.2.0, @^1.2, @~1.2, @>=1.0 constrain it) or a signed package file: verified before it is unpacked, asked for consent to its capabilities (--yes grants them; without a terminal and --yes it is refused), recorded in PLUGINS/clawd.lock. Exit 0, 1 refused (the code printed), 2 usage.",
		"clawd-plugin install --index build/index --index-key index.pub --dir plugins --yes hello"},
	{"update", "update [--index DIR|URL] --index-key INDEX.pub --dir PLUGINS [--yes] [--json] [NAME[@CONSTRAINT]...]",
		"Update the named plugins (all installed from an index if none) to the newest version that matches, from --index or else the index they were installed from; one refused does not stop the others; the previous version is kept for rollback, one that asks for more capabilities asks again, one that fails to open in a child process is not installed. Exit 0, 1 refused, 2 usage.",
		"clawd-plugin update --index build/index --index-key index.pub --dir plugins hello"},
	{"rollback", "rollback --dir PLUGINS [--json] NAME",
		"Restore the version the last update replaced (a second rollback undoes the first). Exit 0, 1 refused, 2 usage.",
		"clawd-plugin rollback --dir plugins hello"},
	{"remove", "remove --dir PLUGINS [--json] NAME",
		"Uninstall a plugin: its directory, its kept previous version and its lock entry. Exit 0, 1 refused, 2 usage.",
		"clawd-plugin remove --dir plugins hello"},
	{"list", "list --dir PLUGINS [--json]",
		"List the installed plugins with their versions and whether their files still match the lock file. Exit 0, 1 refused, 2 usage.",
		"clawd-plugin list --dir plugins --json"},
	{"search", "search --index DIR|URL --index-key INDEX.pub [--json] [TERM]",
		"List the index's plugins whose name or description contains TERM, with their versions. Exit 0, 1 refused, 2 usage.",
		"clawd-plugin search --index build/index --index-key index.pub hello"},
	{"new", "new --lang c|cpp|rust|zig [--target native|wasm] NAME [DIR]",
		"Write a plugin project into DIR (default ./NAME): source, build file, plugin.toml and a README with the build and check commands. It builds as written and passes check.",
		"clawd-plugin new --lang c myplugin"},
	{"version", "version [--json]",
		"Print the module version of this build and the VCS revision it was built from (also: clawd-plugin --version).",
		"clawd-plugin version --json"},
	{"completion", "completion bash|zsh|fish",
		"Print a shell completion script for verbs and flags.",
		"source <(clawd-plugin completion bash)"},
	{"help", "help [VERB]",
		"Print this usage, or a verb's (the same as clawd-plugin VERB --help).",
		"clawd-plugin help run"},
}

func helpOf(verb string) (verbHelp, bool) {
	for _, h := range helps {
		if h.name == verb {
			return h, true
		}
	}
	return verbHelp{}, false
}

// printVerbHelp prints a verb's synopsis, what it does, its flags and an
// example. fs may be nil for a verb without flags.
func printVerbHelp(w io.Writer, verb string, fs *flag.FlagSet) {
	h, _ := helpOf(verb)
	fmt.Fprintf(w, "usage: clawd-plugin %s\n\n%s\n", h.synopsis, wrap(h.what, 76, ""))
	if fs != nil && hasFlags(fs) {
		fmt.Fprintln(w, "\nflags:")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
	fmt.Fprintf(w, "\nexample:\n  %s\n", h.example)
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// usageText is the top-level usage: every verb and the flags of the
// command itself.
func usageText() string {
	var b strings.Builder
	b.WriteString("usage: clawd-plugin <verb> [flags] [args]\n       clawd-plugin --version | --help\n\nverbs:\n")
	for _, h := range helps {
		syn := strings.ReplaceAll(h.synopsis, "\n       clawd-plugin ", "\n  ")
		fmt.Fprintf(&b, "  %s\n%s\n", syn, wrap(firstSentence(h.what), 70, "        "))
	}
	b.WriteString("\nflags:\n  -h, --help      print this usage (VERB --help: a verb's synopsis, flags and an example)\n" +
		"  --version       print the version of this build\n\n" +
		"exit status: 0 ok, 1 invalid, 2 usage, 3 run: a native plugin crashed the host\n" +
		"docs: https://github.com/clawd-go/clawd/blob/main/docs/cli.md\n")
	return b.String()
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}

// wrap breaks s into lines of at most width bytes, each prefixed by indent.
func wrap(s string, width int, indent string) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, indent+line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, indent+line)
	}
	return strings.Join(lines, "\n")
}

// helpWriter, when set, is where parseInterspersed prints a verb's help
// when its arguments ask for it (-h, -help, --help): run sets it to stdout
// for `VERB --help`, which then exits 0.
var helpWriter io.Writer

// wantsHelp reports whether args ask for help before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// helpVerb is `clawd-plugin help [VERB]`.
func helpVerb(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		fmt.Fprint(stdout, usageText())
		return exitOK
	case len(args) > 1:
		fmt.Fprintf(stderr, "clawd-plugin help: one VERB expected, got %d arguments\n", len(args))
		return exitUsage
	}
	if wantsHelp(args) || args[0] == "help" {
		printVerbHelp(stdout, "help", nil)
		return exitOK
	}
	if _, ok := helpOf(args[0]); !ok {
		fmt.Fprint(stderr, unknownVerb("clawd-plugin help", args[0]))
		return exitUsage
	}
	return run([]string{args[0], "--help"}, stdout, stderr)
}

func init() { verbs["help"] = helpVerb }
