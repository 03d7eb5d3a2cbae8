package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/clawd-go/clawd/internal/scaffold"
)

func init() { verbs["new"] = newVerb }

const newUsage = "usage: clawd-plugin new --lang c|cpp|rust|zig [--target native|wasm] NAME [DIR]"

// newVerb writes a plugin project (package internal/scaffold) into DIR,
// ./NAME by default, and prints how to build and check it. It never writes
// into a directory that holds files. Exit 0 written, 1 failed, 2 usage (a
// bad language or name included).
func newVerb(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lang := fs.String("lang", "", "the plugin's language: "+strings.Join(scaffold.Langs, ", "))
	target := fs.String("target", "native", "what the project builds: "+strings.Join(scaffold.Targets, ", ")+
		" (wasm: a WebAssembly module built with Zig, for c, cpp and zig)")
	fs.Usage = func() { printVerbHelp(stderr, "new", fs) }
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagFailure(err, args, stdout)
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "clawd-plugin new: "+format+"\n", a...)
		fs.Usage()
		return exitUsage
	}
	switch {
	case *lang == "":
		return usage("missing --lang")
	case !slices.Contains(scaffold.Langs, *lang):
		return usage("unknown language %q (want one of %s)", *lang, strings.Join(scaffold.Langs, ", "))
	case !slices.Contains(scaffold.Targets, *target):
		return usage("unknown target %q (want one of %s)", *target, strings.Join(scaffold.Targets, ", "))
	case len(pos) == 0:
		return usage("missing NAME")
	case len(pos) > 2:
		return usage("NAME and at most one DIR expected, got %d arguments", len(pos))
	}
	name, dir := pos[0], pos[0]
	if len(pos) == 2 {
		dir = pos[1]
	}
	if err := scaffold.ValidName(*lang, name); err != nil {
		return usage("%v", err)
	}
	if err := scaffold.ValidTarget(*lang, *target); err != nil {
		return usage("%v", err)
	}
	p, err := scaffold.WriteTarget(*lang, *target, name, dir)
	if err != nil {
		fmt.Fprintf(stderr, "clawd-plugin new: %v\n", err)
		if errors.Is(err, scaffold.ErrNotEmpty) {
			fmt.Fprintln(stderr, "clawd-plugin new: give another DIR, or empty this one")
		}
		return exitInvalid
	}
	what := *lang
	if *target == "wasm" {
		what += " (WebAssembly)"
	}
	fmt.Fprintf(stdout, "created %s plugin %s in %s:\n", what, name, dir)
	for _, f := range p.Files {
		fmt.Fprintf(stdout, "  %s\n", filepath.Join(dir, filepath.FromSlash(f)))
	}
	fmt.Fprintf(stdout, "\nnext:\n  cd %s\n  %s   # writes %s\n  clawd-plugin check .\n",
		dir, strings.Join(p.Build, " "), p.Library)
	return exitOK
}
