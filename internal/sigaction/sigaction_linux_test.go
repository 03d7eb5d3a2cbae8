//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips || mipsle || mips64 || mips64le || ppc64 || ppc64le || riscv64 || s390x)

package sigaction

import (
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sigIgn = 1 // SIG_IGN

// kernelSize is sizeof(struct sigaction) as the kernel's headers give it
// for rt_sigaction, per GOARCH.
var kernelSize = map[string]uintptr{
	"amd64": 32, "arm64": 32, "ppc64": 32, "ppc64le": 32, "s390x": 32,
	"riscv64": 24, "loong64": 24,
	"mips64": 32, "mips64le": 32, // int flags, 4 bytes of padding, 128-signal mask
	"386": 20, "arm": 20,
	"mips": 24, "mipsle": 24,
}

// emulatorExtra is how many bytes past the struct qemu-user (7.2) writes
// as zeros, per GOARCH: its target_sigaction keeps a trailing sa_restorer.
var emulatorExtra = map[string]uintptr{"riscv64": 8, "loong64": 8, "mips": 4, "mipsle": 4}

// addToMask sets signal sig's bit in the kernel's sigset_t, an array of
// unsigned longs with signal n at bit n-1.
func addToMask(a *kernelSigaction, sig int) {
	n := uint(sig - 1)
	switch m := any(&a.mask).(type) {
	case *uint64:
		*m |= 1 << n
	case *[2]uint64:
		m[n/64] |= 1 << (n % 64)
	case *[4]uint32:
		m[n/32] |= 1 << (n % 32)
	default:
		panic("addToMask: unknown mask type")
	}
}

// The struct is the size the kernel's headers give, the kernel takes its
// mask size and writes exactly that many bytes, and an action written
// through it reads back field for field.
func TestStructIsWhatTheKernelTakes(t *testing.T) {
	want, ok := kernelSize[runtime.GOARCH]
	require.True(t, ok, "no kernel size known for %s", runtime.GOARCH)
	require.Equal(t, want, unsafe.Sizeof(kernelSigaction{}))

	s := Save()
	defer s.Restore()
	act := kernelSigaction{handler: sigIgn, flags: saOnStack}
	addToMask(&act, int(syscall.SIGHUP))
	addToMask(&act, 64) // the last word of a 64-signal mask
	require.Zero(t, set(int(syscall.SIGUSR2), &act))

	const canary = 0xa5
	var buf [8]uint64 // larger than any layout, aligned for it
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&buf)), unsafe.Sizeof(buf))
	for i := range raw {
		raw[i] = canary
	}
	// buf is only written for the length of the call.
	_, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGUSR2), 0, uintptr(unsafe.Pointer(&buf)), sigsetSize, 0, 0)
	require.Zero(t, e)
	// Linux writes exactly the struct. qemu-user writes one more word of
	// zeros on some targets (see slot), which slot leaves room for.
	extra := emulatorExtra[runtime.GOARCH]
	for i := want; i < uintptr(len(raw)); i++ {
		if i < want+extra && raw[i] == 0 {
			continue
		}
		require.Equal(t, byte(canary), raw[i], "the kernel wrote byte %d, past the struct's %d", i, want)
	}
	require.True(t, want+extra <= unsafe.Sizeof(slot{}), "slot leaves room for what an emulator writes")
	// buf is a Go array the kernel has filled as a struct sigaction.
	got := *(*kernelSigaction)(unsafe.Pointer(&buf))
	assert.Equal(t, act.handler, got.handler)
	assert.Equal(t, act.flags, got.flags)
	assert.Equal(t, act.mask, got.mask)

	for _, n := range []uintptr{sigsetSize / 2, sigsetSize * 2} {
		var out kernelSigaction
		// out is only written for the length of the call.
		_, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGUSR2), 0, uintptr(unsafe.Pointer(&out)), n, 0, 0)
		assert.Equal(t, syscall.EINVAL, e, "sigsetsize %d", n)
	}
}

// Save sees the Go runtime's own handlers, installed with SA_ONSTACK.
func TestSaveReadsTheRuntimesHandlers(t *testing.T) {
	s := Save()
	for _, sig := range []syscall.Signal{syscall.SIGSEGV, syscall.SIGUSR1, syscall.SIGURG} {
		a := s.a[sig]
		assert.True(t, a.handler > sigIgn, "%v: a handler, not SIG_DFL or SIG_IGN", sig)
		assert.NotZero(t, uint64(a.flags)&saOnStack, "%v: SA_ONSTACK", sig)
	}
	assert.Empty(t, s.Diff(Save()), "nothing changed between two snapshots")
}

// An action changed behind Go's back is reported, restored, and the
// signal reaches os/signal again.
func TestRestoreReportsExactlyTheChangedSignal(t *testing.T) {
	usr2 := make(chan os.Signal, 1)
	signal.Notify(usr2, syscall.SIGUSR2)
	defer signal.Stop(usr2)

	s := Save()
	require.Zero(t, set(int(syscall.SIGUSR2), &kernelSigaction{handler: sigIgn}))
	assert.Equal(t, []Change{{Signal: syscall.SIGUSR2, Name: "SIGUSR2"}}, s.Diff(Save()))
	assert.Equal(t, []syscall.Signal{syscall.SIGUSR2}, s.Restore())
	assert.Empty(t, s.Diff(Save()))
	assert.Nil(t, s.Restore(), "nothing left to restore")

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR2))
	// If the runtime's handler is not back, SIGUSR2 stays ignored and this
	// waits until the test binary's -timeout.
	<-usr2
}

// A handler without SA_ONSTACK is named as such; SIG_IGN (above) is not.
func TestDiffNamesAHandlerWithoutOnStack(t *testing.T) {
	s := Save()
	defer s.Restore()
	noStack := s.a[syscall.SIGUSR1] // the runtime's handler, which nobody sends SIGUSR2 to meanwhile
	noStack.flags &^= saOnStack
	require.Zero(t, set(int(syscall.SIGUSR2), &noStack))
	assert.Equal(t, []Change{{Signal: syscall.SIGUSR2, Name: "SIGUSR2", NoStack: true}}, s.Diff(Save()))
	assert.Equal(t, []syscall.Signal{syscall.SIGUSR2}, s.Restore())
}

func TestNilSet(t *testing.T) {
	var s *Set
	assert.Nil(t, s.Restore())
	assert.Nil(t, s.Diff(Save()))
	assert.Nil(t, Save().Diff(nil))
}
