package conformance

import (
	"context"
	"testing"
)

// RunT runs the suite on the plugin at path from a Go test. Given a
// *testing.T, it reports one subtest per check, named by the check's id
// (go test -v lists them; -run 'TestConformance/export\.' selects): a
// failed check fails its subtest with its message, a warning is logged, a
// skipped check is a skipped subtest. Given another testing.TB (a
// benchmark), each failed check fails t and each warning is logged. It
// returns the report for further assertions. The test binary's TestMain
// must call isolate.Main first:
//
//	func TestMain(m *testing.M) {
//		isolate.Main()
//		os.Exit(m.Run())
//	}
//
//	func TestConformance(t *testing.T) {
//		conformance.RunT(t, "build/libmyplugin.so")
//	}
func RunT(t testing.TB, path string, opts ...Option) *Report {
	t.Helper()
	rep, err := Run(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("conformance: %v", err)
		return nil
	}
	if tt, ok := t.(*testing.T); ok {
		for _, c := range rep.Checks {
			tt.Run(c.ID, func(st *testing.T) {
				switch c.Status {
				case StatusFail:
					st.Error(c.Message)
				case StatusWarn:
					st.Log("warning: " + c.Message)
				case StatusSkip:
					st.Skip(c.Message)
				default:
					st.Log(c.Message)
				}
			})
		}
		return rep
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
