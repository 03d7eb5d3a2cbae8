/*
 * spawner: a plugin that starts processes of its own on Windows, for the
 * tests of the sandbox child's job object. Each process it starts is
 * cmd.exe from the system directory, created suspended (it runs no code,
 * needs no handle of ours, and lives until something kills it).
 * on_tool_call acts on the tool:
 *
 *   child        starts one; logs "child <pid>" and returns 0, or logs
 *                "child: error <GetLastError()>" and returns DaemonError
 *   children:N   starts up to N (at most 64) until one fails; logs
 *                "children <started> error <GetLastError() of the failure,
 *                0 if none> pids <pid> <pid> ...", returns 0
 *   crash        child, then writes through a NULL pointer
 *
 * Elsewhere every tool logs "<tool>: not on this OS" and returns
 * DaemonError (the Linux tree tests use testplugins/tree.c).
 *
 * Name "spawner", version "1.0.0".
 */
#include "clawd_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>

/* spawn starts a suspended cmd.exe; its pid, or 0 with *err set. */
static DWORD spawn(DWORD *err) {
    wchar_t exe[MAX_PATH + 16];
    UINT n = GetSystemDirectoryW(exe, MAX_PATH);
    if (n == 0 || n >= MAX_PATH) {
        *err = GetLastError();
        return 0;
    }
    wcscpy(exe + n, L"\\cmd.exe");
    wchar_t cmdline[] = L"cmd.exe";
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    if (!CreateProcessW(exe, cmdline, NULL, NULL, FALSE, CREATE_SUSPENDED | CREATE_NO_WINDOW, NULL, NULL, &si, &pi)) {
        *err = GetLastError();
        return 0;
    }
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    *err = 0;
    return pi.dwProcessId;
}

static ClawaError child(ClawaContext *ctx) {
    char line[64];
    DWORD err, pid = spawn(&err);
    if (pid == 0) {
        snprintf(line, sizeof line, "child: error %lu", (unsigned long)err);
        ctx->log(ctx, 2, line);
        return CLAWA_ERROR_DAEMON_ERROR;
    }
    snprintf(line, sizeof line, "child %lu", (unsigned long)pid);
    ctx->log(ctx, 2, line);
    return CLAWA_ERROR_NONE;
}

static ClawaError children(ClawaContext *ctx, const char *count) {
    static char line[2048];
    int want = atoi(count), n = 0, len;
    DWORD err = 0, pids[64];
    if (want < 0 || want > 64)
        want = 64;
    while (n < want) {
        DWORD pid = spawn(&err);
        if (pid == 0)
            break;
        pids[n++] = pid;
    }
    len = snprintf(line, sizeof line, "children %d error %lu pids", n, (unsigned long)err);
    for (int i = 0; i < n; i++)
        len += snprintf(line + len, sizeof line - len, " %lu", (unsigned long)pids[i]);
    ctx->log(ctx, 2, line);
    return CLAWA_ERROR_NONE;
}
#endif

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool, const char *input) {
    (void)session;
    (void)input;
#ifdef _WIN32
    if (strcmp(tool, "child") == 0)
        return child(ctx);
    if (strncmp(tool, "children:", 9) == 0)
        return children(ctx, tool + 9);
    if (strcmp(tool, "crash") == 0) {
        child(ctx);
        *(volatile int *)0 = 1;
    }
    return CLAWA_ERROR_NOT_FOUND;
#else
    char line[96];
    snprintf(line, sizeof line, "%.*s: not on this OS", (int)strcspn(tool, ":"), tool);
    ctx->log(ctx, 2, line);
    return CLAWA_ERROR_DAEMON_ERROR;
#endif
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION,
    "spawner",
    "1.0.0",
    NULL,
    NULL,
    NULL,
    NULL,
    on_tool_call,
    NULL,
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
