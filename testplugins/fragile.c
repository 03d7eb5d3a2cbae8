/*
 * fragile: a plugin with one input bug, chosen at build time, in
 * on_tool_call (which otherwise logs "on_tool_call" and returns 0). Each
 * bug writes through a NULL pointer (SIGSEGV), as the real ones it stands
 * for would fault sooner or later:
 *
 *   -DFRAGILE_EMPTY  crashes when tool_name is "" (code that reads
 *                    tool_name[strlen(tool_name) - 1]);
 *   -DFRAGILE_UTF8   crashes when session_id holds a byte >= 0x80 (a
 *                    128-entry table indexed by char);
 *   -DFRAGILE_DEEP   crashes when input_json nests deeper than 5000 levels
 *                    (a recursive parser without a depth limit).
 *
 * The conformance checks callbacks.empty_strings, callbacks.utf8 and
 * callbacks.deep_json must each fail their variant alone. Built without
 * any of them, it has no bug. Name "fragile", version "1.0.0".
 * Built as a WASM module the fault is a trap: address 0 is ordinary
 * linear memory there, so a NULL write would not fault.
 */
#include "clawd_plugin.h"

#if defined(FRAGILE_EMPTY) || defined(FRAGILE_UTF8) || defined(FRAGILE_DEEP)
static void fault(void) {
#ifdef __wasm__
    __builtin_trap();
#else
    static int *volatile nowhere; /* volatile: a real fault, not a trap */
    *nowhere = 1;
#endif
}
#endif

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool,
                               const char *input) {
#ifdef FRAGILE_EMPTY
    if (tool[0] == '\0')
        fault();
#endif
#ifdef FRAGILE_UTF8
    for (; *session; session++)
        if ((unsigned char)*session >= 0x80)
            fault();
#endif
#ifdef FRAGILE_DEEP
    {
        int depth = 0;
        for (; *input; input++) {
            if (*input == '{' || *input == '[')
                depth++;
            else if (*input == '}' || *input == ']')
                depth--;
            if (depth > 5000)
                fault();
        }
    }
#endif
    (void)session;
    (void)tool;
    (void)input;
    ctx->log(ctx, 2, "on_tool_call");
    return CLAWA_ERROR_NONE;
}

static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION, "fragile", "1.0.0", 0, 0, 0, 0, on_tool_call, 0,
    {0, 0, 0, 0, 0, 0, 0, 0},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
