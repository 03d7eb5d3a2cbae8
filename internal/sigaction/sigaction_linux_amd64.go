package sigaction

// kernelSigaction is struct sigaction as rt_sigaction takes it on
// linux/amd64 (arch/x86: the generic layout with sa_restorer).
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// nsig is _NSIG+1: signals are numbered 1 to 64.
const nsig = 65
