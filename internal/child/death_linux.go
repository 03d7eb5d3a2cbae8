package child

import "syscall"

// setDeathSignal kills the child when this process dies (contain.Start
// forks from a thread that never exits, so the signal follows the process).
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
