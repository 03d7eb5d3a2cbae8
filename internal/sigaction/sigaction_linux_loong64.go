package sigaction

// kernelSigaction is struct sigaction as rt_sigaction takes it on
// linux/loong64 (asm-generic: no sa_restorer on this architecture).
type kernelSigaction struct {
	handler uintptr
	flags   uint64
	mask    uint64
}

// nsig is _NSIG+1: signals are numbered 1 to 64.
const nsig = 65
