// Package threadid names the OS thread the caller runs on. The host uses it
// to recognise a call that comes back from inside a plugin's send_event: a
// goroutine running a C callback is locked to its thread, so the thread
// tells which C stack a call would nest on.
package threadid

// Current returns an identifier of the calling OS thread, unique among the
// threads alive in the process. It costs about one system call.
func Current() uint64 { return current() }
