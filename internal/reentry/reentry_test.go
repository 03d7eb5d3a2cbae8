package reentry

import (
	"errors"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// onThread runs f on a goroutine locked to an OS thread of its own, as a
// callback from C runs.
func onThread(f func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(done)
		f()
	}()
	return done
}

func TestFrames(t *testing.T) {
	a, b := &Owner{Name: "a"}, &Owner{Name: "b"}
	<-onThread(func() {
		assert.False(t, Nested())
		fa, err := Enter(a)
		require.NoError(t, err)
		assert.True(t, Nested())
		assert.True(t, Inside(a))
		assert.False(t, Inside(b))
		fb, err := Enter(b)
		require.NoError(t, err)
		assert.Equal(t, 2, Depth())
		<-onThread(func() { assert.False(t, Inside(a), "another thread is inside nothing") })
		fb.Leave()
		assert.False(t, Inside(b))
		fa.Leave()
		assert.False(t, Nested())
	})
	assert.Zero(t, active.Load())
}

func TestMaxDepth(t *testing.T) {
	o := &Owner{Name: "deep"}
	<-onThread(func() {
		var fs []Frame
		for range MaxDepth {
			f, err := Enter(o)
			require.NoError(t, err)
			fs = append(fs, f)
		}
		_, err := Enter(o)
		assert.ErrorIs(t, err, ErrTooDeep)
		for i := len(fs) - 1; i >= 0; i-- {
			fs[i].Leave()
		}
	})
	assert.Zero(t, active.Load())
}

func TestMutexReentersFromItsOwnSink(t *testing.T) {
	o := &Owner{Name: "p"}
	m := NewMutex(o)
	<-onThread(func() {
		re, err := m.Lock()
		require.NoError(t, err)
		require.False(t, re)
		f, _ := Enter(o) // the plugin's send_event, below the call that holds m
		re, err = m.Lock()
		require.NoError(t, err)
		assert.True(t, re, "a call from the plugin's own sink nests")
		f.Leave()
		m.Unlock()
	})
}

// Two threads, each inside the sink of the plugin it holds, each wanting
// the other's: the second to wait is refused, the first gets its lock once
// the refused one lets go.
func TestMutexRefusesACycle(t *testing.T) {
	a, b := &Owner{Name: "a"}, &Owner{Name: "b"}
	ma, mb := NewMutex(a), NewMutex(b)
	inside := make(chan struct{}, 2)
	start := make(chan struct{})
	results := make(chan error, 2)
	run := func(own *Owner, mine, other *Mutex) <-chan struct{} {
		return onThread(func() {
			_, err := mine.Lock()
			require.NoError(t, err)
			f, _ := Enter(own)
			inside <- struct{}{}
			<-start
			re, err := other.Lock()
			if err == nil && !re {
				other.Unlock()
			}
			results <- err
			f.Leave()
			mine.Unlock()
		})
	}
	da, db := run(a, ma, mb), run(b, mb, ma)
	<-inside
	<-inside
	close(start)
	var refused, passed int
	// A deadlock the guard misses hangs here until the test binary's -timeout.
	for range 2 {
		if err := <-results; err == nil {
			passed++
		} else {
			assert.True(t, errors.Is(err, ErrDeadlock), "%v", err)
			refused++
		}
	}
	<-da
	<-db
	assert.Equal(t, 1, refused)
	assert.Equal(t, 1, passed)
}
