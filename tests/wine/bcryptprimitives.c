/* Test-environment glue, never shipped: Rust's std (since 1.78) takes its random numbers from
 * ProcessPrng in bcryptprimitives.dll, which Windows 10 and later have and Wine 8.0 lacks, so
 * every Rust .exe exits with status 53 under Wine 8.0. This stand-in serves ProcessPrng from
 * RtlGenRandom (advapi32's SystemFunction036), which Wine does have. The test harness builds it
 * with MinGW into its own Wine prefix. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
