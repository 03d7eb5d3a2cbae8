package conformance_test

import (
	"os"
	"testing"

	"github.com/clawd-go/clawd/conformance"
	"github.com/clawd-go/clawd/internal/cbuild"
)

// The suite re-executes this test binary for each check: ChildMain runs
// the check and exits when this process is one of those children.
func TestMain(m *testing.M) {
	conformance.ChildMain()
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}
