package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/vtable"
)

func init() { verbs["version"] = versionVerb }

// buildInfo is what `clawd-plugin version --json` prints.
type buildInfo struct {
	Schema     int    `json:"schema"`
	Module     string `json:"module"`
	Version    string `json:"version"`            // the module version, "(devel)" for a build from a checkout
	Revision   string `json:"revision,omitempty"` // the VCS revision the binary was built from
	Time       string `json:"time,omitempty"`     // the revision's commit time
	Modified   bool   `json:"modified"`           // the work tree had changes
	Go         string `json:"go"`
	Platform   string `json:"platform"`
	CallPath   string `json:"call_path"` // cgo or purego
	ABIVersion uint32 `json:"abi_version"`
}

var readBuildInfo = debug.ReadBuildInfo // a variable for tests

func currentBuild() buildInfo {
	b := buildInfo{Schema: schemaVersion, Module: "github.com/clawd-go/clawd", Version: "(unknown)",
		Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, CallPath: vtable.Path, ABIVersion: abi.Version}
	bi, ok := readBuildInfo()
	if !ok {
		return b
	}
	if bi.Main.Path != "" {
		b.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// versionVerb is `clawd-plugin version` and `clawd-plugin --version`.
func versionVerb(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object")
	fs.Usage = func() { printVerbHelp(stderr, "version", fs) }
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagFailure(err, args, stdout)
	}
	if len(pos) > 0 {
		return usageFailure(stdout, stderr, *asJSON, "version", "unexpected argument %q", pos[0])
	}
	b := currentBuild()
	if *asJSON {
		data, _ := json.Marshal(b) // strings and numbers: cannot fail
		fmt.Fprintf(stdout, "%s\n", data)
		return exitOK
	}
	fmt.Fprintf(stdout, "clawd-plugin %s (%s)\n", b.Version, b.Module)
	if b.Revision != "" {
		mod := ""
		if b.Modified {
			mod = ", modified"
		}
		fmt.Fprintf(stdout, "revision:  %s (%s%s)\n", b.Revision, b.Time, mod)
	}
	fmt.Fprintf(stdout, "go:        %s %s, %s call path\n", b.Go, b.Platform, b.CallPath)
	fmt.Fprintf(stdout, "abi:       %d\n", b.ABIVersion)
	return exitOK
}
