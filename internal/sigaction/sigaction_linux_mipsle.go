package sigaction

// kernelSigaction is struct sigaction as rt_sigaction takes it on
// linux/mipsle (arch/mips, __ARCH_HAS_IRIX_SIGACTION: flags first; no sa_restorer; 128 signals).
type kernelSigaction struct {
	flags   uint32
	handler uintptr
	mask    [4]uint32
}

// nsig is _NSIG+1: signals are numbered 1 to 128.
const nsig = 129
