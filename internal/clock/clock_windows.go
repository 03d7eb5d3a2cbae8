package clock

import (
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	qpc  = windows.NewLazySystemDLL("kernel32.dll").NewProc("QueryPerformanceCounter")
	freq = frequency()
	// fallback is Go's clock, for a system without a performance counter
	// (none since Windows XP; kept so that a failure never panics).
	origin = time.Now()
)

func frequency() int64 {
	var f int64
	p := windows.NewLazySystemDLL("kernel32.dll").NewProc("QueryPerformanceFrequency")
	if r, _, _ := p.Call(uintptr(unsafe.Pointer(&f))); r == 0 {
		return 0
	}
	return f
}

func mono() time.Duration {
	if freq <= 0 {
		return time.Since(origin)
	}
	var c int64
	// c is on this goroutine's stack and read back at once: the counter
	// is written by the call, never kept.
	if r, _, _ := qpc.Call(uintptr(unsafe.Pointer(&c))); r == 0 {
		return time.Since(origin)
	}
	// Split to keep c*1e9 from overflowing for a counter of years.
	sec, rem := c/freq, c%freq
	return time.Duration(sec)*time.Second + time.Duration(rem*int64(time.Second)/freq)
}
