package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/clawd-go/clawd/manifest"
)

// Codes of run's error records (docs/errors.md).
const (
	codeNoPlugins = "no_plugins" // the plugin directories hold no plugin
	codePluginDir = "plugin_dir" // --plugins names a plugin directory, not a directory of them
)

// flagFailure is a verb's exit after its flags did not parse: flag has
// printed the error and the usage on stderr; under --json stdout gets the
// failure object too. After help was shown it is 0.
func flagFailure(err error, args []string, stdout io.Writer) int {
	if errors.Is(err, errHelpShown) || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if jsonAsked(args) {
		writeJSONFailure(stdout, codeUsage, "%v", err)
	}
	return exitUsage
}

// jsonAsked reports whether args hold --json before any "--".
func jsonAsked(args []string) bool {
	i := slices.Index(args, "--")
	if i < 0 {
		i = len(args)
	}
	return slices.Contains(args[:i], "--json") || slices.Contains(args[:i], "-json") || slices.Contains(args[:i], "--json=true")
}

// usageFailure prints a usage error of verb on stderr (and under --json
// the failure object on stdout) and returns exit status 2.
func usageFailure(stdout, stderr io.Writer, asJSON bool, verb, format string, a ...any) int {
	msg := fmt.Sprintf(format, a...)
	fmt.Fprintf(stderr, "clawd-plugin %s: %s\n", verb, msg)
	if asJSON {
		writeJSONFailure(stdout, codeUsage, "%s", msg)
	}
	return exitUsage
}

// checkPluginDirs refuses --plugins directories that are not there (exit
// 2): a typo must not play the script to nobody. The default, ./plugins,
// is named as such.
func checkPluginDirs(dirs []string, asJSON bool, stdout, stderr io.Writer) int {
	what := "--plugins %s"
	if len(dirs) == 0 {
		dirs, what = []string{"plugins"}, "%s (the default of --plugins)"
	}
	for _, d := range dirs {
		st, err := os.Stat(d)
		name := fmt.Sprintf(what, d)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return dirFailure(stdout, stderr, asJSON, "%s: no such directory", name)
		case err != nil:
			return dirFailure(stdout, stderr, asJSON, "%s: %v", name, err)
		case !st.IsDir():
			return dirFailure(stdout, stderr, asJSON, "%s: not a directory", name)
		}
	}
	return exitOK
}

func dirFailure(stdout, stderr io.Writer, asJSON bool, format string, a ...any) int {
	msg := fmt.Sprintf(format, a...)
	fmt.Fprintf(stderr, "clawd-plugin run: %s\n", msg)
	if asJSON {
		writeJSONFailure(stdout, codeNotFound, "%s", msg)
	}
	return exitUsage
}

// noPlugins is the error record when the directories hold no plugin: it
// names the slip of passing a plugin directory itself.
func noPlugins(dirs []string) record {
	if len(dirs) == 0 {
		dirs = []string{"plugins"}
	}
	for _, d := range dirs {
		if _, err := manifest.Find(d); err == nil {
			// Join, not Dir: the parent of "." is "..", not ".".
			return record{Type: "error", Code: codePluginDir,
				Error: fmt.Sprintf("%s is a plugin directory; run it alone (--plugin %s) or pass its parent (--plugins %s)", d, d, filepath.Join(d, ".."))}
		}
	}
	return record{Type: "error", Code: codeNoPlugins, Error: fmt.Sprintf("no plugins found in %s (each plugin is a directory DIR/NAME with a plugin.toml or clawd-plugin.json)", strings.Join(dirs, ", "))}
}

// noteStdin tells a person at a terminal that run waits for the script on
// stdin, which would otherwise look like a hang.
func noteStdin(stderr io.Writer) {
	if stdin != io.Reader(os.Stdin) {
		return
	}
	if st, err := os.Stdin.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		fmt.Fprintln(stderr, "clawd-plugin run: reading the event script from stdin (one JSON object per line; Ctrl-D ends it; --events FILE reads a file)")
	}
}

// splitPluginArgs sorts the --plugin arguments: a directory is one plugin
// directory, loaded as its manifest says (its parent's clawd.lock, when
// there is one, covers it as it covers every plugin beside it); anything
// else is a bare WebAssembly module. A directory that is not a plugin
// directory is refused here (exit 2), naming --plugins for a directory of
// them, as is an argument that is not there.
func splitPluginArgs(args []string, asJSON bool, stdout, stderr io.Writer) (dirs, modules []string, code int) {
	for _, a := range args {
		st, err := os.Stat(a)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, nil, dirFailure(stdout, stderr, asJSON, "--plugin %s: no such file or directory", a)
		case err != nil:
			return nil, nil, dirFailure(stdout, stderr, asJSON, "--plugin %s: %v", a, err)
		case !st.IsDir():
			modules = append(modules, a)
			continue
		}
		if _, err := manifest.Find(a); err != nil {
			return nil, nil, usageFailure(stdout, stderr, asJSON, "run",
				"--plugin %s: not a plugin directory (no plugin.toml or clawd-plugin.json); a directory of plugin directories is --plugins %s", a, a)
		}
		abs, err := filepath.Abs(a)
		if err != nil {
			return nil, nil, dirFailure(stdout, stderr, asJSON, "--plugin %s: %v", a, err)
		}
		dirs = append(dirs, abs)
	}
	return dirs, modules, exitOK
}
