package threads

import (
	"os"
	"sort"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Take lists the process's threads (a Toolhelp snapshot filtered by our
// process id) and tells them apart by where they began, which Windows
// keeps for every thread (its Win32 start address):
//
//   - in this program's image: a thread of Go's runtime (they all begin
//     at its thread entry), left out;
//   - in ntdll.dll: a thread Windows itself starts (the thread pool's
//     workers, which serve asynchronous I/O such as a directory watch,
//     and the loader's), left out: otherwise a watch started while a
//     plugin was open would pass for a thread of the plugin;
//   - anywhere else: a library's, counted as foreign. A library's thread
//     begins in that library, or in the C runtime's thread start (msvcrt,
//     ucrtbase) when started by _beginthreadex or pthreads.
//
// A thread whose start cannot be read counts as foreign: when in doubt,
// the loader keeps a library mapped. (A cgo build starts Go's threads
// through the C runtime: they count as foreign there, which only keeps
// libraries mapped, never unmaps one under a running thread.)
func Take() (Census, bool) {
	pid := uint32(os.Getpid())
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return Census{}, false
	}
	defer windows.CloseHandle(snap)
	var te windows.ThreadEntry32
	te.Size = uint32(unsafe.Sizeof(te))
	var c Census
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		// Only the foreign threads are listed (goThreads stays 0): a Go
		// thread that ended and another that started in between then
		// cannot pass for a foreign one, as they can where the census has
		// only Go's count to go by.
		if startIn(te.ThreadID) == inOther {
			c.tids = append(c.tids, int(te.ThreadID))
		}
	}
	if err != windows.ERROR_NO_MORE_FILES {
		return Census{}, false
	}
	sort.Ints(c.tids)
	return c, true
}

var (
	ntdll       = windows.NewLazySystemDLL("ntdll.dll")
	queryThread = ntdll.NewProc("NtQueryInformationThread")
	systemRange = ntdllRange()
	ownRange    = programRange()
)

// threadQuerySetWin32StartAddress is the THREADINFOCLASS of a thread's
// start address as CreateThread was given it.
const threadQuerySetWin32StartAddress = 9

// moduleRange is where the module h is mapped: [lo, hi); zero if unknown.
func moduleRange(h windows.Handle) [2]uintptr {
	var mi windows.ModuleInfo
	if err := windows.GetModuleInformation(windows.CurrentProcess(), h, &mi, uint32(unsafe.Sizeof(mi))); err != nil {
		return [2]uintptr{}
	}
	return [2]uintptr{mi.BaseOfDll, mi.BaseOfDll + uintptr(mi.SizeOfImage)}
}

func ntdllRange() [2]uintptr {
	name, err := windows.UTF16PtrFromString("ntdll.dll")
	if err != nil {
		return [2]uintptr{}
	}
	var h windows.Handle
	if err := windows.GetModuleHandleEx(windows.GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT, name, &h); err != nil {
		return [2]uintptr{}
	}
	return moduleRange(h)
}

func programRange() [2]uintptr {
	var h windows.Handle
	if err := windows.GetModuleHandleEx(windows.GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT, nil, &h); err != nil {
		return [2]uintptr{}
	}
	return moduleRange(h)
}

type origin int

const (
	inOther origin = iota
	inProgram
	inSystem
)

func within(a uintptr, r [2]uintptr) bool { return r[1] != 0 && a >= r[0] && a < r[1] }

// startIn tells where thread tid began.
func startIn(tid uint32) origin {
	if queryThread.Find() != nil {
		return inOther
	}
	h, err := windows.OpenThread(windows.THREAD_QUERY_INFORMATION, false, tid)
	if err != nil {
		return inOther
	}
	defer windows.CloseHandle(h)
	var start uintptr
	// start is written by the call and read back at once; it stays ours.
	r, _, _ := queryThread.Call(uintptr(h), threadQuerySetWin32StartAddress, uintptr(unsafe.Pointer(&start)), unsafe.Sizeof(start), 0)
	switch {
	case r != 0: // an NTSTATUS other than STATUS_SUCCESS
		return inOther
	case within(start, ownRange):
		return inProgram
	case within(start, systemRange):
		return inSystem
	}
	return inOther
}
