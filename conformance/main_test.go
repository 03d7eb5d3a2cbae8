package conformance_test

import (
	"os"
	"testing"

	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
)

// The suite re-executes this test binary for each check: isolate.Main runs
// the check and exits when this process is one of those children.
func TestMain(m *testing.M) {
	isolate.Main()
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}
