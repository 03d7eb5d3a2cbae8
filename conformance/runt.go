package conformance

import "testing"

// RunT runs the suite on the plugin at path from a Go test: each failed
// check fails t with its message, each warning is logged. It returns the
// report for further assertions. The test binary's TestMain must call
// ChildMain first:
//
//	func TestMain(m *testing.M) {
//		conformance.ChildMain()
//		os.Exit(m.Run())
//	}
//
//	func TestConformance(t *testing.T) {
//		conformance.RunT(t, "build/libmyplugin.so")
//	}
func RunT(t testing.TB, path string, opts ...Option) *Report {
	t.Helper()
	rep, err := Run(path, opts...)
	if err != nil {
		t.Fatalf("conformance: %v", err)
		return nil
	}
	for _, c := range rep.Checks {
		switch c.Status {
		case StatusFail:
			t.Errorf("%s: %s", c.ID, c.Message)
		case StatusWarn:
			t.Logf("warning: %s: %s", c.ID, c.Message)
		}
	}
	return rep
}
