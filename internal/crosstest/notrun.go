package main

// notRun lists the tests a target's emulator cannot run, and why. They are
// passed to -test.skip and printed by every run, with the tests that skip
// themselves there (each with its own reason). An empty test is the whole
// package.
var notRun = []struct{ target, pkg, test, why string }{
	{"windows/amd64", "./loader", "TestKeptContextIsRefusedWhileCallsGoOn",
		"statistical (at least 99.9% of a kept context's late uses refused while calls go on): under Wine on 2 busy cores one run of five measured 99.04%, so it would fail CI at random"},
	{"windows/amd64", "./manifest", "TestWriteSignatureSymlink",
		"Wine creates the symbolic link, but opening the manifest through it fails (File not found); Windows needs a privilege to create one at all"},
	{"windows/amd64", "./install", "TestPackRefusesASymlink",
		"Wine creates the symbolic link, but looking at a file through it fails (File not found), so pack sees no file rather than a link"},
	{"windows/amd64", "./host", "TestLockFileThatIsALinkIsRefused", wineLinkWhy},
	{"windows/amd64", "./install", "TestStateFolderLinkIsRefused", wineLinkWhy},
	{"windows/amd64", "./install", "TestLockFileOrJournalLinkIsRefused", wineLinkWhy},
	{"windows/amd64", "./install", "TestPluginFolderLinkIsNotFollowed", wineLinkWhy},
	{"windows/amd64", "./cmd/clawd-plugin", "TestPkgRefusesALinkedStateFolder", wineLinkWhy},
	{"windows/amd64", "./host", "TestWatcherAddRemoveAndFail",
		"Wine refuses to rename a plugin directory into the watched directory (Access denied)"},
	{"windows/amd64", "./isolate", "TestExecutableMustServeAsChild",
		"it names /bin/true as the program that does not serve as a sandbox child"},
	{"windows/amd64", "./isolate", "TestStderrIsLogged",
		"under Wine a fault in C code ends the child with the exception's status and no Go crash report on stderr, which the test reads"},
	{"windows/amd64", "./cmd/clawd-plugin", "TestRunErrorLinesSayItOnce",
		"it reads a crashed sandbox child's stderr lines (the Go crash report); under Wine a faulting child writes none"},
	{"windows/amd64", "./isolate", "TestUnavailableSaysWhatHappened",
		"it expects the child's stderr (the Go crash report) in the detail; under Wine a faulting child writes none"},
	{"windows/amd64", "./isolate", "TestActiveProcessLimitHolds",
		"Wine 8 does not enforce a job's active-process limit: under a limit of 3 the plugin started 16 processes (kill on job close does hold: TestPluginsProcessesDieOnClose)"},
	{"windows/amd64", "./isolate", "TestCPUTimeLimitHolds",
		"Wine 8 does not enforce a job's per-process CPU-time limit: under a limit of 1 s a spinning plugin ran on until the call's 30 s deadline"},
	{"windows/amd64", "./isolate", "TestMemoryLimitHolds",
		"Wine 8 does not enforce a job's per-process memory limit: under a limit of 256 MiB the plugin allocated and touched 1024 MiB"},
	{"windows/amd64", "./isolate", "TestLowIntegrityRefusesWritesUp", wineIntegrityWhy},
	{"windows/amd64", "./internal/contain", "TestSandboxTokenIsLowIntegrity", wineIntegrityWhy},
	{"windows/amd64", "./internal/contain", "TestLabelLow",
		"Wine 8 refuses to set a file's mandatory label (SetNamedSecurityInfo with LABEL_SECURITY_INFORMATION: Access denied)"},

	{"linux/arm64", "./isolate", "", confinedWhy},
	{"linux/arm64", "./host", "TestOneIdentityTheManifests", confinedWhy},
	{"linux/arm64", "./host", "TestDispatchRefusesInputThatIsNotJSON", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestRunErrorLinesSayItOnce", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestRunNativeCrashExitsWithItsOwnStatus", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestInspectMessageSaysTheCodeOnce", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestPkgVerifyNamesUnlockedPlugins", "its install's trial opens the plugin in a confined child; " + confinedWhy},
	{"linux/arm64", "./host", "TestSandboxedCrashFailsOnlyThatPlugin", confinedWhy},
	{"linux/arm64", "./host", "TestManifestCallTimeout", confinedWhy},
	{"linux/arm64", "./host", "TestWithSandboxProcessRunsEveryPluginInAChild", confinedWhy},
	{"linux/arm64", "./host", "TestHookChains", confinedWhy},
	{"linux/arm64", "./host", "TestObserverSeesCrashAndRestart", confinedWhy},
	{"linux/arm64", "./host", "TestObserverContextReachesSink", "its process case starts a sandbox child; " + confinedWhy},
	{"linux/arm64", "./host", "TestHookPolicyRefuses", confinedWhy},
	{"linux/arm64", "./host", "TestHookFailures", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestCheckGoodPlugin", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestCheckExampleDir", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestCheckJSONBroken", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestCheckCrashInCallback", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestCheckOnlySkip", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestCheckJUnit", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestCheckSeveral", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestCheckSelectionAndJSONFailures", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestInspectPluginDirectory", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestInspectEcho", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestInspectMinimal", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestInspectStdoutNoise", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestInspectBadABI", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestInspectCrashInInit", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestInspectExitInInit", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestInspectHangTimesOut", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestInspectNotALibrary", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestInspectHuman", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestInspectFlagsAfterLib", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestInspectSignaturePresent", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestRunInTheProcessSandbox", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestNewcomerSession", confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestPackageVerbs", "every install opens the plugin once in the process sandbox (its trial); " + confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestPackageUpdateVerbs", "every install opens the plugin once in the process sandbox (its trial); " + confinedWhy},
	{"linux/arm64", "./install", "", "every install opens the plugin once in the process sandbox (its trial); " + confinedWhy},
	{"linux/arm64", "./cmd/clawd-plugin", "TestNewBuildsRunsAndPassesCheck",
		"it builds each project with the build machine's own make, cc, c++ and cargo, whose libraries are not arm64"},
	{"linux/arm64", "./cmd/clawd-plugin", "TestNewDefaultDir",
		"it executes the arm64 clawd-plugin directly, which needs binfmt_misc (not available here)"},
}

// confinedWhy: under qemu-user a confined child cannot start. Its clone
// flags (a PID namespace) are refused (EINVAL), and the child would then
// confine itself (seccomp, Landlock, capabilities) and execute itself
// again, which the emulator does not carry through.
const confinedWhy = "it starts a confined child (the process sandbox, or inspect's and check's children), which qemu-user cannot run: " +
	"the child's clone flags are refused (EINVAL), and the child confines itself (seccomp, Landlock) and executes itself again"

// wineIntegrityWhy: Wine has no mandatory integrity control.
const wineIntegrityWhy = "Wine 8 has no integrity levels: SetTokenInformation(TokenIntegrityLevel) succeeds, but the token reads back " +
	"at the host's level (high), and nothing refuses a write up; the child's report says so (TestReportSaysWhetherWritesUpAreRefused)"

// wineLinkWhy is why the tests that replace a file or folder by a symbolic
// link do not run under Wine.
const wineLinkWhy = "Wine creates the symbolic link, but Lstat does not report it as one (a linked folder or file reads as what it points to), so there is no link to refuse; Windows needs a privilege to create one at all"
