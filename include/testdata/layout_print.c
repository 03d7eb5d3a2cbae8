/*
 * layout_print: prints the size, alignment and every field's offset and size
 * of the ABI structs as this C compiler lays them out, one "<key> <n>" per
 * line. include/layout_test.go compares the output with include.Layout
 * (include/include.go), the one list that the Rust and Zig printers beside
 * this file and the Go mirrors in package abi are checked against too.
 */
#include "clawd_plugin.h"

#include <stdio.h>

#define ALIGNOF(T) offsetof(struct { char c; T t; }, t)
#define STRUCT(T) \
    printf(#T ".size %lu\n", (unsigned long)sizeof(T)); \
    printf(#T ".align %lu\n", (unsigned long)ALIGNOF(T))
#define FIELD(T, f) \
    printf(#T "." #f " %lu\n", (unsigned long)offsetof(T, f)); \
    printf(#T "." #f ".size %lu\n", (unsigned long)sizeof(((T *)0)->f))

int main(void) {
    STRUCT(ClawaPlugin);
    FIELD(ClawaPlugin, abi_version);
    FIELD(ClawaPlugin, name);
    FIELD(ClawaPlugin, version);
    FIELD(ClawaPlugin, on_load);
    FIELD(ClawaPlugin, on_unload);
    FIELD(ClawaPlugin, on_session_start);
    FIELD(ClawaPlugin, on_session_end);
    FIELD(ClawaPlugin, on_tool_call);
    FIELD(ClawaPlugin, on_message);
    FIELD(ClawaPlugin, _reserved);

    STRUCT(ClawaContext);
    FIELD(ClawaContext, _inner);
    FIELD(ClawaContext, send_event);
    FIELD(ClawaContext, log);
    FIELD(ClawaContext, _reserved);

    STRUCT(ClawaError);
    printf("CLAWD_PLUGIN_ABI_VERSION %u\n", (unsigned)CLAWD_PLUGIN_ABI_VERSION);
    printf("CLAWD_PLUGIN_RESERVED %d\n", CLAWD_PLUGIN_RESERVED);
    return 0;
}
