package contain

import (
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// On Windows a confined child runs in a Job Object of its own, which the
// host makes before the child runs any code of its own:
//
//   - JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: only the host holds the job's
//     handle, so when the host closes it (Cleanup) or dies, the child and
//     everything it started are killed;
//   - Policy.MaxProcesses as the job's active-process limit (processes
//     only: Windows does not bound threads);
//   - Policy.AddressSpace as the per-process committed-memory limit;
//   - Policy.CPUSeconds as the per-process user-mode CPU-time limit.
//
// The child is created suspended, assigned to the job, then resumed, so
// that nothing it starts escapes the job. Its handles: only those
// os/exec passes (stdio and SysProcAttr.AdditionalInheritedHandles, by
// PROC_THREAD_ATTRIBUTE_HANDLE_LIST) are inherited.
//
// Not enforced on Windows: file and network access (no restricted token,
// low integrity level or AppContainer here), signal scoping; Probe says so
// in the Report's notes.

type job struct {
	p Policy
	h windows.Handle // 0 until started
}

var jobs sync.Map // *exec.Cmd -> *job

// setProcAttr creates the child suspended in a process group of its own
// (CREATE_NEW_PROCESS_GROUP keeps the host's console Ctrl+C from it).
func setProcAttr(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_SUSPENDED | windows.CREATE_NEW_PROCESS_GROUP
	return nil
}

// planJob records the policy Start gives cmd's job.
func planJob(cmd *exec.Cmd, p Policy) { jobs.Store(cmd, &job{p: p}) }

var resumeProcess = windows.NewLazySystemDLL("ntdll.dll").NewProc("NtResumeProcess")

// start starts cmd, in its job if Prepare planned one.
func start(cmd *exec.Cmd) error {
	v, ok := jobs.Load(cmd)
	if !ok {
		return cmd.Start()
	}
	j := v.(*job)
	h, err := newJob(j.p)
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		windows.CloseHandle(h)
		return err
	}
	fail := func(what string, err error) error {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		windows.CloseHandle(h)
		return fmt.Errorf("contain: %s: %w", what, err)
	}
	ph, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE|windows.PROCESS_SUSPEND_RESUME, false, uint32(cmd.Process.Pid))
	if err != nil {
		return fail("open the child process", err)
	}
	defer windows.CloseHandle(ph)
	if err := windows.AssignProcessToJobObject(h, ph); err != nil {
		return fail("put the child in its job object", err)
	}
	if r, _, _ := resumeProcess.Call(uintptr(ph)); r != 0 {
		return fail("resume the child", fmt.Errorf("NTSTATUS %#x", r))
	}
	j.h = h
	return nil
}

func newJob(p Policy) (windows.Handle, error) {
	h, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("contain: create a job object: %w", err)
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	b := &info.BasicLimitInformation
	b.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if p.MaxProcesses > 0 {
		b.LimitFlags |= windows.JOB_OBJECT_LIMIT_ACTIVE_PROCESS
		b.ActiveProcessLimit = uint32(p.MaxProcesses)
	}
	if p.AddressSpace > 0 {
		b.LimitFlags |= windows.JOB_OBJECT_LIMIT_PROCESS_MEMORY
		info.ProcessMemoryLimit = uintptr(p.AddressSpace)
	}
	if p.CPUSeconds > 0 {
		b.LimitFlags |= windows.JOB_OBJECT_LIMIT_PROCESS_TIME
		b.PerProcessUserTimeLimit = int64(p.CPUSeconds) * 10_000_000 // in 100 ns
	}
	if _, err := windows.SetInformationJobObject(h, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(h)
		return 0, fmt.Errorf("contain: set the job object's limits: %w", err)
	}
	return h, nil
}

// KillGroup kills the child and everything in its job (the child alone
// when it has none).
func KillGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return errors.New("contain: KillGroup: command not started")
	}
	if v, ok := jobs.Load(cmd); ok && v.(*job).h != 0 {
		return windows.TerminateJobObject(v.(*job).h, 1)
	}
	return cmd.Process.Kill()
}

// closeJob closes the job's handle: whatever of the child's tree still
// runs is killed (kill on job close).
func closeJob(cmd *exec.Cmd) {
	if v, ok := jobs.LoadAndDelete(cmd); ok && v.(*job).h != 0 {
		windows.CloseHandle(v.(*job).h)
	}
}

// osProbe fills r, in the child, from the job the process is in.
func osProbe(p Policy, r *Report) bool {
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	// Handle 0: the job of the calling process.
	if err := windows.QueryInformationJobObject(0, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil); err != nil {
		r.Notes = append(r.Notes, "the child is in no job object ("+err.Error()+"): it does not die with its parent, and no limit applies")
		return false
	}
	b := info.BasicLimitInformation
	if b.LimitFlags == 0 {
		// Windows always reads kill-on-close back; Wine 8 reads back no limit at all.
		r.Notes = append(r.Notes, "the job object's limits read back as none (Wine does not report them): not counted as enforced")
	}
	r.FDs = true // only the handles os/exec listed were inherited
	r.DieWithParent = b.LimitFlags&windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE != 0
	if b.LimitFlags&windows.JOB_OBJECT_LIMIT_ACTIVE_PROCESS != 0 {
		r.MaxProcesses = int(b.ActiveProcessLimit)
		r.Notes = append(r.Notes, "max_processes bounds processes only: Windows does not bound threads")
	} else if p.MaxProcesses > 0 {
		r.Notes = append(r.Notes, "the job object has no active-process limit")
	}
	memOK := p.AddressSpace == 0 || (b.LimitFlags&windows.JOB_OBJECT_LIMIT_PROCESS_MEMORY != 0 && uint64(info.ProcessMemoryLimit) == p.AddressSpace)
	cpuOK := p.CPUSeconds == 0 || (b.LimitFlags&windows.JOB_OBJECT_LIMIT_PROCESS_TIME != 0 && b.PerProcessUserTimeLimit == int64(p.CPUSeconds)*10_000_000)
	// No core dumps needs nothing on Windows: it writes none.
	r.Rlimits = p.rlimits() && memOK && cpuOK
	if p.rlimits() && !r.Rlimits {
		r.Notes = append(r.Notes, "the job object does not hold the memory or CPU-time limit asked for")
	}
	if p.DenySockets {
		r.Notes = append(r.Notes, "sockets are not restricted on windows")
	}
	if p.Landlock || p.DenyTCP || p.ScopeSignals {
		r.Notes = append(r.Notes, "file and network access are not restricted on windows (no restricted token, low integrity level or AppContainer)")
	}
	return true
}
