package contain

// expectConfine fills in what the child will start with, on top of
// expect's Landlock arithmetic: the parent's Probe and the child's Enter
// both call it, so that Probe foresees the Report. netns: whether the
// child runs in a network namespace of its own.
func expectConfine(r *Report, p Policy, netns bool) {
	r.FDs, r.Env = true, true
	r.SessionKeyring = keyrings()
	expectFilter(r, p, netns)
	expectPrivileges(r, p)
}
