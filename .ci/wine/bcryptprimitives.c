/*
 * A stand-in for Windows' bcryptprimitives.dll, for running the Windows
 * test binaries under Wine 8, which lacks ProcessPrng: Go's runtime (since
 * Go 1.24) loads it from system32 before main and stops without it.
 * The harness (.ci/wine/run) builds this with Zig and copies it into the
 * Wine prefix's system32. It is never shipped or used on Windows itself,
 * which has the real one.
 *
 * ProcessPrng fills the buffer from RtlGenRandom (advapi32's
 * SystemFunction036), Wine's system random source. Like the real one it
 * always returns TRUE; a failure of the source aborts the process, since
 * the caller would otherwise use bytes that are not random.
 */
#include <windows.h>
#include <stdlib.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) {
            abort();
        }
        data += n;
        len -= n;
    }
    return TRUE;
}
