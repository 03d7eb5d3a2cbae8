package vtable

// culprit names which of three staged strings holds the NUL found at
// offset i: 0, 1 or 2.
func culprit(i, n0, n1 int) int {
	switch {
	case i < n0:
		return 0
	case i < n0+1+n1:
		return 1
	}
	return 2
}
