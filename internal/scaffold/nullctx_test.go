package scaffold_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clawd-go/clawd/conformance"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/scaffold"
	"github.com/clawd-go/clawd/isolate"
)

// The conformance suite re-executes this test binary for each check:
// isolate.Main runs the check and exits when this process is one of those.
func TestMain(m *testing.M) {
	isolate.Main()
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

const nullContext = "compat.null_context"

// TestFreshProjectSurvivesNullContext: a fresh project of each language
// builds, and compat.null_context passes on it. The reference daemon
// passes a NULL context to every callback; a template that dereferenced
// ctx would crash there and make a newcomer's first `check` warn. A
// missing toolchain skips the language, or fails it under
// REQUIRE_ALL_TOOLCHAINS.
func TestFreshProjectSurvivesNullContext(t *testing.T) {
	for _, lang := range scaffold.Langs {
		t.Run(lang, func(t *testing.T) {
			build := projectBuild(t, lang)
			name := "null-ctx-" + lang
			dir := filepath.Join(t.TempDir(), name)
			if _, err := scaffold.Write(lang, name, dir); err != nil {
				t.Fatal(err)
			}
			if out, err := cbuild.Run(dir, nil, build...); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(build, " "), err, out)
			}
			rep, err := conformance.Run(context.Background(), dir, conformance.Only(`^compat\.null_context$`), conformance.WithConcurrency(1))
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Checks) != 1 || rep.Checks[0].ID != nullContext {
				t.Fatalf("ran %v, want only %s", rep.Checks, nullContext)
			}
			if c := rep.Checks[0]; c.Status != conformance.StatusPass {
				t.Fatalf("%s: %s: %s", c.ID, c.Status, c.Message)
			}
			if !rep.OK {
				t.Fatalf("report not OK: %v", rep.Checks)
			}
		})
	}
}

// projectBuild makes sure lang's toolchain is here and returns the build
// command the project's README gives (made offline-proof for cargo, and
// pointed at the Zig the tests found).
func projectBuild(t *testing.T, lang string) []string {
	t.Helper()
	switch lang {
	case "c":
		cbuild.RequireTool(t, []string{"make"})
		cbuild.RequireTool(t, cbuild.CC())
	case "cpp":
		cbuild.RequireTool(t, []string{"make"})
		cbuild.RequireTool(t, cbuild.CXX())
	case "rust":
		cbuild.RequireTool(t, []string{"cargo"})
		return []string{"cargo", "build", "--release", "--offline"}
	case "zig":
		cbuild.RequireTool(t, []string{"make"})
		return []string{"make", "ZIG=" + strings.Join(cbuild.RequireZig(t), " ")}
	default:
		t.Fatalf("no build command for %s", lang)
	}
	return []string{"make"}
}
