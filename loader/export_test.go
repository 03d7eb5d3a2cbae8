package loader

// SetUnmapAlways makes Close unmap the library whatever the thread census
// says: the behaviour without the census, for the test that shows what it
// prevents.
func SetUnmapAlways(v bool) { unmapAlways = v }
