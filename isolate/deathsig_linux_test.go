package isolate_test

const supportsDeathSignal = true

// running tells whether the process pid runs (a zombie does not).
func running(pid int) bool { return alive(pid) }
