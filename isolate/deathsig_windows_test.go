package isolate_test

import "golang.org/x/sys/windows"

// On Windows the child's job object is killed when the host's handle to it
// closes, which its death does.
const supportsDeathSignal = true

// running tells whether the process pid runs.
func running(pid int) bool {
	h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return false
	}
	defer windows.CloseHandle(h)
	ev, err := windows.WaitForSingleObject(h, 0)
	return err == nil && ev == uint32(windows.WAIT_TIMEOUT)
}
