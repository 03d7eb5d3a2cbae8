//go:build !linux

package contain

import (
	"errors"
	"os/exec"
)

// Outside Linux the child shares the host's network, IPC and ids.
func canNewNet() bool    { return false }
func setNetNS(*exec.Cmd) {}
func canNewIPC() bool    { return false }
func setIPCNS(*exec.Cmd) {}
func canSwitchIDs() error {
	return errors.New("contain: policy uid/gid: switching ids is implemented on Linux only")
}
