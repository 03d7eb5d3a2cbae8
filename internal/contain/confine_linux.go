package contain

// expectConfine fills in what the child will start with, on top of
// expect's Landlock arithmetic: the parent's Probe and the child's Enter
// both call it, so that Probe foresees the Report. netns and ipcns:
// whether the child runs in a network and an IPC namespace of its own.
func expectConfine(r *Report, p Policy, netns, ipcns bool) {
	r.FDs, r.Env = true, true
	r.SessionKeyring = keyrings()
	expectFilter(r, p, netns)
	r.IPCNS = ipcns
	if !ipcns {
		r.Notes = append(r.Notes, noteNoIPCNS)
	}
	expectPrivileges(r, p)
}
