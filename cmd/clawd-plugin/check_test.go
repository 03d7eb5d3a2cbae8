package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clawd-go/clawd/conformance"
	"github.com/clawd-go/clawd/internal/cbuild"
)

// checkJSON runs check --json and decodes its one line of output.
func checkJSON(t *testing.T, wantExit int, args ...string) (map[string]any, []map[string]any) {
	t.Helper()
	r := cli(t, append([]string{"check", "--json"}, args...)...)
	if r.exit != wantExit {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.exit, wantExit, r.stdout, r.stderr)
	}
	if strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("stdout is not one line: %s", r.stdout)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &obj); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	// The contract's ok and checks, and what was added (docs/cli.md); library
	// and manifest only where there is one.
	if got := slices.DeleteFunc(keys(obj), func(k string) bool { return k == "library" || k == "manifest" }); !reflect.DeepEqual(got, []string{"checks", "counts", "duration_ms", "ok", "schema"}) || obj["schema"] != float64(1) {
		t.Fatalf("keys %v", got)
	}
	var checks []map[string]any
	for _, c := range obj["checks"].([]any) {
		m := c.(map[string]any)
		if got := keys(m); !reflect.DeepEqual(got, []string{"duration_ms", "id", "message", "status"}) {
			t.Fatalf("check keys %v", got)
		}
		checks = append(checks, m)
	}
	return obj, checks
}

func byStatus(checks []map[string]any) map[string][]string {
	out := map[string][]string{}
	for _, c := range checks {
		s := c["status"].(string)
		out[s] = append(out[s], c["id"].(string))
	}
	return out
}

func TestCheckGoodPlugin(t *testing.T) {
	r := cli(t, "check", cbuild.Plugin(t, "echo"))
	if r.exit != 0 {
		t.Fatalf("exit %d\n%s%s", r.exit, r.stdout, r.stderr)
	}
	for _, want := range []string{"pass  export.init ", "skip  manifest.valid ", "\nok: " + strconv.Itoa(len(conformance.Checks())) + " checks, "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestCheckExampleDir(t *testing.T) {
	root, err := cbuild.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lib, err := os.ReadFile(cbuild.Library(t, "examples/c/hello/hello.c"))
	if err != nil {
		t.Fatal(err)
	}
	man, err := os.ReadFile(filepath.Join(root, "examples/c/hello/clawd-plugin.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "libhello"+cbuild.LibExt), lib, 0o755); err != nil {
		t.Fatal(err)
	}
	man = []byte(strings.ReplaceAll(string(man), "libhello.so", "libhello"+cbuild.LibExt))
	if err := os.WriteFile(filepath.Join(dir, "clawd-plugin.json"), man, 0o644); err != nil {
		t.Fatal(err)
	}
	// The timing checks are left out: on a busy machine they may warn.
	obj, checks := checkJSON(t, 0, "--skip", `^timing\.`, dir)
	st := byStatus(checks)
	timed := 0
	for _, c := range conformance.Checks() {
		if strings.HasPrefix(c.ID, "timing.") {
			timed++
		}
	}
	if obj["ok"] != true || len(st["fail"]) > 0 || len(st["warn"]) > 0 || timed == 0 || len(checks) != len(conformance.Checks())-timed {
		t.Fatalf("%v", st)
	}
	want := []string{"concurrency.threads", "manifest.signature"}
	if runtime.GOOS != "linux" { // signal actions are read on Linux only
		want = append([]string{"hygiene.signals"}, want...)
	}
	if !reflect.DeepEqual(st["skip"], want) {
		t.Errorf("skipped %v, want %v", st["skip"], want)
	}
}

func TestCheckJSONBroken(t *testing.T) {
	obj, checks := checkJSON(t, 1, cbuild.Plugin(t, "bad_abi"), "--skip", `^manifest\.`)
	st := byStatus(checks)
	if obj["ok"] != false || !reflect.DeepEqual(st["fail"], []string{"init.abi_version"}) || len(st["warn"]) > 0 {
		t.Fatalf("%v", st)
	}
	for _, c := range checks {
		if c["status"] == "skip" && c["message"] != "plugin does not load: abi_mismatch" && !strings.HasPrefix(c["message"].(string), "no manifest") {
			t.Errorf("%v: %v", c["id"], c["message"])
		}
	}
}

// A plugin that segfaults in one callback fails that check, and every
// other check still runs and reports.
func TestCheckCrashInCallback(t *testing.T) {
	_, checks := checkJSON(t, 1, cbuild.Plugin(t, "tool_call_segv"))
	st := byStatus(checks)
	if !reflect.DeepEqual(st["fail"], []string{"callbacks.large_input"}) || len(checks) != len(conformance.Checks()) {
		t.Fatalf("%v", st)
	}
	for _, c := range checks {
		if c["id"] == "callbacks.large_input" && !strings.HasPrefix(c["message"].(string), "crashed: "+segvName+" in on_tool_call") {
			t.Errorf("message %q", c["message"])
		}
	}
	if len(st["pass"]) < 20 {
		t.Errorf("only %d checks passed: %v", len(st["pass"]), st)
	}
}

func TestCheckOnlySkip(t *testing.T) {
	_, checks := checkJSON(t, 0, "--only", `^init\.`, "--skip", "reserved", "--only", `^export\.init$`, cbuild.Plugin(t, "echo"))
	var ids []string
	for _, c := range checks {
		ids = append(ids, c["id"].(string))
	}
	if want := []string{"export.init", "init.non_null", "init.idempotent", "init.abi_version"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ids %v, want %v", ids, want)
	}
}

func TestCheckJUnit(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.xml")
	r := cli(t, "check", "--junit", out, "--only", `^(export|init)\.`, cbuild.Plugin(t, "missing_init"))
	if r.exit != 1 || !strings.Contains(r.stdout, "fail  export.init") {
		t.Fatalf("exit %d\n%s%s", r.exit, r.stdout, r.stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		XMLName  xml.Name `xml:"testsuite"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Skipped  int      `xml:"skipped,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	}
	if err := xml.Unmarshal(data, &suite); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if suite.Tests != 6 || suite.Failures != 1 || suite.Skipped != 4 || len(suite.Cases) != 6 {
		t.Fatalf("tests %d failures %d skipped %d cases %d\n%s", suite.Tests, suite.Failures, suite.Skipped, len(suite.Cases), data)
	}
	for _, c := range suite.Cases {
		switch c.Name {
		case "export.init":
			if c.Failure == nil || !strings.Contains(c.Failure.Message, "is not exported") || c.Classname != "clawd.conformance.export" {
				t.Errorf("export.init: %+v", c)
			}
		case "export.namespace":
			if c.Failure != nil || c.Skipped != nil || !strings.HasPrefix(c.SystemOut, "warning: the library also exports") {
				t.Errorf("export.namespace: %+v", c)
			}
		default:
			if c.Skipped == nil || c.Skipped.Message != "plugin does not load: missing_init" {
				t.Errorf("%s: %+v", c.Name, c)
			}
		}
	}
}

func TestCheckUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"check"}, "missing LIB or DIR"},
		{[]string{"check", "--only", "(", "a.so"}, `--only "("`},
		{[]string{"check", "--skip", "[", "a.so"}, `--skip "["`},
		{[]string{"check", "--timeout", "0s", "a.so"}, "--timeout must be positive"},
		{[]string{"check", "--bogus", "a.so"}, "unknown flag --bogus"},
		{[]string{"check", "--pub", "/nonexistent.pub", "a.so"}, "--pub /nonexistent.pub"},
	} {
		r := cli(t, tc.args...)
		if r.exit != 2 || r.stdout != "" || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, r.exit, r.stdout, r.stderr, tc.stderr)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.so")
	_, statErr := os.Stat(missing)
	r := cli(t, "check", missing)
	if r.exit != 1 || !strings.Contains(r.stderr, statErr.Error()) {
		t.Errorf("missing file: exit %d, stderr %q", r.exit, r.stderr)
	}
}

func TestCheckList(t *testing.T) {
	r := cli(t, "check", "--list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.exit != 0 || len(lines) != len(conformance.Checks()) || !strings.HasPrefix(lines[0], "export.init ") || !strings.Contains(r.stdout, "timing.load ") {
		t.Fatalf("exit %d\n%s", r.exit, r.stdout)
	}
}

// The check's hidden child verb does nothing unless started by the suite.
func TestCheckChildVerbNeedsParent(t *testing.T) {
	r := cli(t, "__conformance-child")
	if r.exit != 2 || !strings.Contains(r.stderr, "unknown verb") {
		t.Fatalf("exit %d stderr %q", r.exit, r.stderr)
	}
}
