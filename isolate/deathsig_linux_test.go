package isolate_test

const supportsDeathSignal = true
