package main

// notRun lists the tests a target's emulator cannot run, and why. They are
// passed to -test.skip and printed by every run.
var notRun = []struct{ target, pkg, test, why string }{}
