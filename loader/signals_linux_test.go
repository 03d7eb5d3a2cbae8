package loader_test

import (
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
)

// A plugin that installs its own SIGSEGV and SIGUSR1 handlers (in on_load
// or in a constructor) is warned about, and the host's handlers are back:
// a nil dereference is still a Go panic, and SIGUSR1 reaches os/signal.
func TestPluginSignalHandlersAreRestored(t *testing.T) {
	for _, v := range []struct{ name, flag string }{{"on_load", ""}, {"constructor", "-DSIGNALS_IN_CONSTRUCTOR"}} {
		t.Run(v.name, func(t *testing.T) {
			var flags []string
			if v.flag != "" {
				flags = append(flags, v.flag)
			}
			usr1 := make(chan os.Signal, 1)
			signal.Notify(usr1, syscall.SIGUSR1)
			defer signal.Stop(usr1)

			r := open(t, cbuild.Plugin(t, "signals", flags...))
			warnings := r.p.Warnings()
			require.Len(t, warnings, 1)
			assert.Contains(t, warnings[0], "segmentation fault")
			assert.Contains(t, warnings[0], "user defined signal 1")
			assert.Contains(t, withoutPrefix(r.lines(), "x"), warnings[0])

			assert.True(t, nilDerefPanics(), "a nil dereference must still be a recoverable Go panic")

			require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
			<-usr1 // never reaching os/signal fails the test at the test binary's -timeout
			r.logs.TakeAll()
			require.NoError(t, toolCall(r.p, bg, "s", "t", "{}"))
			assert.Contains(t, r.lines(), "usr1:0", "the plugin's handler must not have run")
		})
	}
}

func nilDerefPanics() (panicked bool) {
	defer func() { panicked = recover() != nil }()
	var p *int
	_ = *p
	return false
}
