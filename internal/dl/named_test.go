package dl

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A system message that lacks the name gets it in front (Windows' never
// has it); one that has it, as dlerror's usually does, is left alone.
func TestNamed(t *testing.T) {
	cause := errors.New("The specified module could not be found.")
	err := named(`C:\p\hello.dll`, cause)
	assert.EqualError(t, err, `C:\p\hello.dll: The specified module could not be found.`)
	assert.ErrorIs(t, err, cause)

	own := errors.New("/p/libx.so: cannot open shared object file: No such file or directory")
	assert.Same(t, own, named("/p/libx.so", own))
	assert.NoError(t, named("x", nil))
}
