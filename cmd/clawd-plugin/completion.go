package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

func init() { verbs["completion"] = completionVerb }

// verbFlags are the flags of each verb, for completion; a test checks them
// against each verb's --help.
var verbFlags = map[string][]string{
	"inspect":    {"--json", "--timeout"},
	"check":      {"--json", "--junit", "--only", "--skip", "--timeout", "--pub", "--list"},
	"run":        {"--plugins", "--plugin", "--events", "--json", "--watch", "--strict", "--sandbox", "--project", "--trust", "--pub", "--lock", "--metrics", "-v"},
	"keygen":     {"--out"},
	"sign":       {"--key", "--print"},
	"verify":     {"--pub", "--dir", "--json"},
	"pack":       {"--key", "--o", "--json"},
	"index":      {"--key", "--publisher", "--json"},
	"install":    {"--json", "--dir", "--index", "--index-key", "--yes", "--quiet", "--allow-http", "--publisher-key", "--max-files", "--max-bytes", "--max-download", "--wait"},
	"update":     {"--json", "--dir", "--index", "--index-key", "--yes", "--quiet", "--allow-http", "--publisher-key", "--max-files", "--max-bytes", "--max-download", "--wait"},
	"search":     {"--json", "--dir", "--index", "--index-key", "--yes", "--quiet", "--allow-http", "--publisher-key", "--max-files", "--max-bytes", "--max-download", "--wait"},
	"rollback":   {"--json", "--dir", "--wait"},
	"remove":     {"--json", "--dir", "--wait"},
	"list":       {"--json", "--dir", "--wait"},
	"new":        {"--lang", "--target"},
	"version":    {"--json"},
	"completion": {},
	"help":       {},
}

func verbNames() []string {
	names := make([]string, 0, len(helps))
	for _, h := range helps {
		names = append(names, h.name)
	}
	return names
}

// completionVerb is `clawd-plugin completion bash|zsh|fish`.
func completionVerb(args []string, stdout, stderr io.Writer) int {
	if wantsHelp(args) {
		printVerbHelp(stdout, "completion", nil)
		return exitOK
	}
	if len(args) != 1 {
		fmt.Fprintf(stderr, "clawd-plugin completion: one shell expected (bash, zsh or fish), got %d arguments\n", len(args))
		return exitUsage
	}
	switch args[0] {
	case "bash":
		fmt.Fprint(stdout, bashCompletion())
	case "zsh":
		fmt.Fprint(stdout, "#compdef clawd-plugin\nautoload -U +X bashcompinit && bashcompinit\n"+bashCompletion())
	case "fish":
		fmt.Fprint(stdout, fishCompletion())
	default:
		fmt.Fprintf(stderr, "clawd-plugin completion: unknown shell %q (want bash, zsh or fish)\n", args[0])
		return exitUsage
	}
	return exitOK
}

func sortedVerbs() []string {
	v := make([]string, 0, len(verbFlags))
	for k := range verbFlags {
		v = append(v, k)
	}
	sort.Strings(v)
	return v
}

func bashCompletion() string {
	var b strings.Builder
	b.WriteString("# clawd-plugin completion for bash: source <(clawd-plugin completion bash)\n_clawd_plugin() {\n")
	b.WriteString("  local cur=${COMP_WORDS[COMP_CWORD]} verb=${COMP_WORDS[1]}\n")
	fmt.Fprintf(&b, "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n    COMPREPLY=($(compgen -W %q -- \"$cur\"))\n    return\n  fi\n",
		strings.Join(verbNames(), " ")+" --help --version")
	b.WriteString("  local flags=\n  case $verb in\n")
	for _, v := range sortedVerbs() {
		fmt.Fprintf(&b, "    %s) flags=%q ;;\n", v, strings.Join(append(append([]string{}, verbFlags[v]...), "--help"), " "))
	}
	b.WriteString("  esac\n")
	b.WriteString("  if [ \"$verb\" = completion ]; then COMPREPLY=($(compgen -W \"bash zsh fish\" -- \"$cur\")); return; fi\n")
	b.WriteString("  if [ \"$verb\" = help ]; then COMPREPLY=($(compgen -W \"" + strings.Join(verbNames(), " ") + "\" -- \"$cur\")); return; fi\n")
	b.WriteString("  case $cur in\n    -*) COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\")) ;;\n    *) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n  esac\n}\n")
	b.WriteString("complete -o filenames -F _clawd_plugin clawd-plugin\n")
	return b.String()
}

func fishCompletion() string {
	var b strings.Builder
	b.WriteString("# clawd-plugin completion for fish: clawd-plugin completion fish | source\n")
	b.WriteString("complete -c clawd-plugin -f -n __fish_use_subcommand -l help -d 'print the usage'\n")
	b.WriteString("complete -c clawd-plugin -f -n __fish_use_subcommand -l version -d 'print the version'\n")
	for _, h := range helps {
		fmt.Fprintf(&b, "complete -c clawd-plugin -f -n __fish_use_subcommand -a %s -d %s\n", h.name, fishQuote(firstSentence(h.what)))
	}
	for _, v := range sortedVerbs() {
		for _, f := range append(append([]string{}, verbFlags[v]...), "--help") {
			opt := "-l " + strings.TrimLeft(f, "-")
			if !strings.HasPrefix(f, "--") {
				opt = "-s " + strings.TrimLeft(f, "-")
			}
			fmt.Fprintf(&b, "complete -c clawd-plugin -n '__fish_seen_subcommand_from %s' %s\n", v, opt)
		}
	}
	b.WriteString("complete -c clawd-plugin -f -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n")
	return b.String()
}

func fishQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }
