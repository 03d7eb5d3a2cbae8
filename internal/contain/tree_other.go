//go:build !linux

package contain

// Tree is a pids cgroup on Linux; elsewhere Prepare never makes one.
type Tree struct {
	Dir     string `json:"dir"`
	Version int    `json:"version"`
	Max     int    `json:"max"`
}

// RuntimeTasks is the allowance for the child's own threads (Linux only).
const RuntimeTasks = 24

func newTree(int) *Tree { return nil }

// Kill does nothing: there is no cgroup here.
func (t *Tree) Kill() {}

// Release does nothing: there is no cgroup here.
func (t *Tree) Release() error { return nil }
