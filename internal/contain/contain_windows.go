package contain

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
//   - an active-process limit of Policy.MaxProcesses plus the child itself
//     (processes only: Windows does not bound threads);
//   - Policy.AddressSpace as the per-process committed-memory limit;
//   - Policy.CPUSeconds as the per-process user-mode CPU-time limit.
//
// The child is created suspended, assigned to the job, then resumed, so
// that nothing it starts escapes the job. Its handles: only those
// os/exec passes (stdio and SysProcAttr.AdditionalInheritedHandles, by
// PROC_THREAD_ATTRIBUTE_HANDLE_LIST) are inherited.
//
// The child runs with a token of its own (token_windows.go): no privilege
// but SeChangeNotifyPrivilege, the Administrators group deny-only, and low
// integrity unless the policy grants a directory read-write (a user's
// directory is of medium integrity, which a low child cannot write; its
// label is not changed for a plugin). At low integrity the private home is
// labelled low and is also the child's TEMP and TMP, the one place it may
// write. The child reads its token back and tries to open its parent for
// writing and to create a file beside its home (both of medium integrity):
// Report.NoWriteUp is set only when both are refused, so a platform that
// accepts the token but does not enforce integrity levels (Wine) is
// reported as such.
//
// Not enforced on Windows: reading files (low integrity refuses writes up,
// not reads), network access, signal scoping; Probe says so in the
// Report's notes.

type job struct {
	p     Policy
	h     windows.Handle // 0 until started
	token windows.Token  // the child's token; 0 once the child started, or if none could be made
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

// planJob records the policy Start gives cmd's job and makes the child's
// token. What kept the token from being made as planned goes to the child
// in p.TokenNote (its Report then says it); the child still starts, in its
// job, and reports the token it really has.
func planJob(cmd *exec.Cmd, p *Policy) {
	j := &job{p: *p}
	home, hasHome := homes.Load(cmd)
	// Low integrity unless the policy grants a directory other than the
	// private home read-write.
	var granted []string
	for _, dir := range p.ReadWrite {
		if !hasHome || dir != home.(string) {
			granted = append(granted, dir)
		}
	}
	low := len(granted) == 0
	t, err := sandboxToken(low)
	switch {
	case err != nil:
		p.TokenNote = "the child runs with the host's token: " + err.Error()
	default:
		j.token = t
		cmd.SysProcAttr.Token = syscall.Token(t)
	}
	if !low && err == nil {
		p.TokenNote = "the child runs at medium integrity: the policy grants write access to " +
			strings.Join(granted, ", ") + ", which low integrity would refuse"
	}
	if hasHome && err == nil && low {
		if err := labelLow(home.(string)); err != nil {
			p.TokenNote = "the private home could not be labelled low integrity, so a low-integrity child cannot write it: " + err.Error()
		} else {
			// Temporary files go to the home: the host's TEMP is of
			// medium integrity.
			cmd.Env = append(withoutVars(cmd.Env, "TEMP", "TMP"), "TEMP="+home.(string), "TMP="+home.(string))
		}
	}
	j.p = *p
	jobs.Store(cmd, j)
}

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
		j.closeToken()
		return err
	}
	err = cmd.Start()
	j.closeToken() // the child has its own copy
	if err != nil {
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

func (j *job) closeToken() {
	if j.token != 0 {
		j.token.Close()
		j.token = 0
	}
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
		b.ActiveProcessLimit = uint32(p.MaxProcesses) + 1 // the child is one of the job's processes
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
	if v, ok := jobs.LoadAndDelete(cmd); ok {
		j := v.(*job)
		j.closeToken()
		if j.h != 0 {
			windows.CloseHandle(j.h)
		}
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
		r.MaxProcesses = int(b.ActiveProcessLimit) - 1 // what the plugin may start besides its child
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
	if p.DenySyscalls {
		r.Notes = append(r.Notes, "system calls are not filtered on windows")
	}
	probeToken(p, r)
	if p.Landlock || p.DenyTCP || p.ScopeSignals {
		r.Notes = append(r.Notes, "reading files and network access are not restricted on windows")
	}
	return true
}

// probeToken reports the child's token as read back, and whether writing
// to objects of medium integrity is really refused.
func probeToken(p Policy, r *Report) {
	if p.TokenNote != "" {
		r.Notes = append(r.Notes, p.TokenNote)
	}
	f, err := readToken()
	if err != nil {
		r.Notes = append(r.Notes, "the child could not read its own token back ("+err.Error()+"): not counted as restricted")
		return
	}
	r.Integrity = integrityName(f.integrity)
	r.RestrictedToken = f.privileges == 0 && !f.admin
	if !r.RestrictedToken {
		r.Notes = append(r.Notes, fmt.Sprintf("the child's token is not restricted (%d privileges besides SeChangeNotifyPrivilege, Administrators enabled: %t)", f.privileges, f.admin))
	}
	if f.integrity >= ridMedium {
		r.Notes = append(r.Notes, "the child runs at "+r.Integrity+" integrity: it may write whatever the user may")
		return
	}
	var held []string
	if err := openParentForWrite(); err == nil {
		held = append(held, "opened its parent process for writing")
	}
	if dir, ok := besideHome(); ok {
		f, err := os.CreateTemp(dir, "clawd-integrity-probe-")
		if err == nil {
			f.Close()
			_ = os.Remove(f.Name())
			held = append(held, "created a file in "+dir)
		}
	} else {
		held = append(held, "had no medium-integrity directory to try (no private home)")
	}
	r.NoWriteUp = len(held) == 0
	if !r.NoWriteUp {
		r.Notes = append(r.Notes, "the token is at "+r.Integrity+" integrity, but the child "+strings.Join(held, " and ")+
			": integrity levels are not enforced here (Wine does not implement them); not counted as enforced")
	}
}

// openParentForWrite opens the host's process (medium integrity) with a
// right that writes to it, and closes it at once.
func openParentForWrite() error {
	h, err := windows.OpenProcess(windows.PROCESS_VM_WRITE|windows.PROCESS_VM_OPERATION, false, uint32(os.Getppid()))
	if err != nil {
		return err
	}
	windows.CloseHandle(h)
	return nil
}

// besideHome is the directory the private home was made in: the host's
// TEMP, of medium integrity.
func besideHome() (string, bool) {
	home := os.Getenv("HOME")
	if home == "" || !strings.HasPrefix(filepath.Base(home), "clawd-home-") {
		return "", false
	}
	return filepath.Dir(home), true
}
