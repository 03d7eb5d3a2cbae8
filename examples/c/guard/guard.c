/*
 * guard: an example ClawD plugin that gives hook verdicts.
 *
 *   - A shell tool call ("shell", "bash", "exec" or "run_command") whose
 *     input runs rm with both a recursive and a force flag (rm -rf, rm -fr,
 *     rm -r -f, rm -Rf ...) is blocked:
 *         send_event(ctx, "hook.block", {"reason": "..."})
 *   - A message whose content holds something that looks like an API key
 *     ("sk-" or "AKIA" followed by at least 16 letters, digits, '-' or '_')
 *     is rewritten with the key replaced by [REDACTED]:
 *         send_event(ctx, "hook.intercept", {"content": ...})
 *
 * Verdicts count only while the callback runs, on its thread, and only
 * for the hooks the manifest asks for ("hooks": ["tool_call", "message"])
 * and the host grants; send_event returns CLAWA_ERROR_NOT_FOUND otherwise
 * (a host that does not know hooks treats them as any event). Either way
 * the callback returns CLAWA_ERROR_NONE: an error is not a block.
 */
#include "clawd_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_shell(const char *tool) {
    static const char *const shells[] = {"shell", "bash", "exec", "run_command"};
    for (size_t i = 0; i < sizeof shells / sizeof shells[0]; i++)
        if (strcmp(tool, shells[i]) == 0)
            return 1;
    return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n'; }

/* forced_recursive_rm reports whether s has "rm" as a word followed by
 * flags that include a recursive (r, R) and a force (f) one. The JSON
 * escapes of the input do not matter: the flags are plain letters. */
static int forced_recursive_rm(const char *s) {
    for (const char *p = strstr(s, "rm"); p; p = strstr(p + 1, "rm")) {
        if (p != s && !is_space(p[-1]) && p[-1] != '"' && p[-1] != ';' && p[-1] != '&' && p[-1] != '|')
            continue;
        const char *q = p + 2;
        int r = 0, f = 0;
        while (is_space(*q)) {
            while (is_space(*q))
                q++;
            if (*q != '-')
                break;
            for (q++; *q && !is_space(*q) && *q != '"'; q++) {
                if (*q == 'r' || *q == 'R')
                    r = 1;
                else if (*q == 'f')
                    f = 1;
            }
        }
        if (r && f)
            return 1;
    }
    return 0;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
    (void)session;
    if (!is_shell(tool) || !forced_recursive_rm(input))
        return CLAWA_ERROR_NONE;
    ClawaError rc = ctx->send_event(ctx, "hook.block",
                                    "{\"reason\":\"guard: a recursive forced delete (rm -rf) is not allowed\"}");
    ctx->log(ctx, rc == CLAWA_ERROR_NONE ? 3 : 1, rc == CLAWA_ERROR_NONE ? "blocked an rm -rf" : "could not block an rm -rf: hook not granted");
    return CLAWA_ERROR_NONE;
}

static int key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* key_len is the length of the API-key-like string at p, 0 if none. */
static size_t key_len(const char *p) {
    size_t n;
    if (strncmp(p, "sk-", 3) == 0)
        n = 3;
    else if (strncmp(p, "AKIA", 4) == 0)
        n = 4;
    else
        return 0;
    size_t body = 0;
    while (key_char(p[n + body]))
        body++;
    return body >= 16 ? n + body : 0;
}

static ClawaError on_message(ClawaContext *ctx, const char *session, const char *role,
                             const char *content) {
    static const char redacted[] = "[REDACTED]";
    static const char head[] = "{\"content\":";
    (void)session;
    (void)role;
    size_t len = strlen(content);
    /* A key is at least 19 bytes and becomes 10: the result is never longer. */
    char *params = malloc(sizeof head + len + 2);
    if (!params)
        return CLAWA_ERROR_NONE;
    char *out = params + sizeof head - 1;
    memcpy(params, head, sizeof head - 1);
    int found = 0;
    for (const char *p = content; *p;) {
        size_t n = (p == content || !key_char(p[-1])) ? key_len(p) : 0;
        if (n) {
            memcpy(out, redacted, sizeof redacted - 1);
            out += sizeof redacted - 1;
            p += n;
            found = 1;
        } else {
            *out++ = *p++;
        }
    }
    *out++ = '}';
    *out = 0;
    if (found) {
        ClawaError rc = ctx->send_event(ctx, "hook.intercept", params);
        ctx->log(ctx, rc == CLAWA_ERROR_NONE ? 2 : 1, rc == CLAWA_ERROR_NONE ? "redacted an API key" : "could not redact an API key: hook not granted");
    }
    free(params);
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "guard", "1.0.0", 0, 0, 0, 0, on_tool_call, on_message,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
