package sigaction

// kernelSigaction is struct sigaction as rt_sigaction takes it on
// linux/arm (arch/arm: the generic layout with sa_restorer; unsigned long is 32 bits).
type kernelSigaction struct {
	handler  uintptr
	flags    uint32
	restorer uintptr
	mask     uint64
}

// nsig is _NSIG+1: signals are numbered 1 to 64.
const nsig = 65
