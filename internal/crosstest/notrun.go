package main

// notRun lists the tests a target's emulator cannot run, and why. They are
// passed to -test.skip and printed by every run, with the tests that skip
// themselves there (each with its own reason).
var notRun = []struct{ target, pkg, test, why string }{
	{"windows/amd64", "./manifest", "TestWriteSignatureSymlink",
		"Wine creates the symbolic link, but opening the manifest through it fails (File not found); Windows needs a privilege to create one at all"},
	{"windows/amd64", "./host", "TestWatcherAddRemoveAndFail",
		"Wine refuses to rename a plugin directory into the watched directory (Access denied)"},
	{"windows/amd64", "./isolate", "TestExecutableMustServeAsChild",
		"it names /bin/true as the program that does not serve as a sandbox child"},
	{"windows/amd64", "./isolate", "TestStderrIsLogged",
		"under Wine a fault in C code ends the child with the exception's status and no Go crash report on stderr, which the test reads"},
	{"windows/amd64", "./isolate", "TestUnavailableSaysWhatHappened",
		"it expects the child's stderr (the Go crash report) in the detail; under Wine a faulting child writes none"},
}
