package conformance_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/clawd-go/clawd/conformance"
	"github.com/clawd-go/clawd/internal/cbuild"
)

const runTChildEnv = "CLAWD_CONFORMANCE_RUNT_CHILD"

// TestRunTChild is run by TestRunTSubtests in a go test -v of its own: its
// output is what is checked.
func TestRunTChild(t *testing.T) {
	lib := os.Getenv(runTChildEnv)
	if lib == "" {
		t.Skip("the child of TestRunTSubtests")
	}
	conformance.RunT(t, lib, conformance.Only(`^export\.|^manifest\.`))
}

// RunT given a *testing.T reports one subtest per check, by id: passes,
// and skips that go test -v shows as skips.
func TestRunTSubtests(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run", "^TestRunTChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), runTChildEnv+"="+cbuild.Plugin(t, "echo"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"--- PASS: TestRunTChild/export.init ",
		"--- PASS: TestRunTChild/export.namespace ",
		"--- SKIP: TestRunTChild/manifest.valid ",
		"--- SKIP: TestRunTChild/manifest.entry ",
		"--- SKIP: TestRunTChild/manifest.signature ",
		"no manifest: check the plugin's directory to check its manifest",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if n := strings.Count(string(out), "=== RUN   TestRunTChild/"); n != 5 {
		t.Errorf("%d subtests, want 5:\n%s", n, out)
	}
}
