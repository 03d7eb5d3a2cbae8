package runopt_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/runopt"
)

type mine int
type theirs int

// A runtime finds its own options among clawd's and other runtimes', in
// order, and clawd.NewConfig leaves them alone.
func TestEachFindsOnlyItsOwn(t *testing.T) {
	opts := []clawd.Option{
		runopt.Wrap[clawd.Option](mine(1)),
		clawd.WithConcurrent(true),
		runopt.Wrap[clawd.Option](theirs(2)),
		nil,
		runopt.Wrap[clawd.Option](mine(3)),
	}
	var got []mine
	runopt.Each(opts, func(m mine) { got = append(got, m) })
	assert.Equal(t, []mine{1, 3}, got)

	var other []theirs
	runopt.Each(opts, func(o theirs) { other = append(other, o) })
	assert.Equal(t, []theirs{2}, other)

	cfg := clawd.NewConfig(opts)
	want := clawd.NewConfig([]clawd.Option{clawd.WithConcurrent(true)})
	cfg.Logger, want.Logger = zap.NewNop(), zap.NewNop() // each NewConfig makes its own
	assert.Equal(t, want, cfg)
}
