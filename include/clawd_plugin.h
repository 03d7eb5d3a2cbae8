/*
 * clawd_plugin.h: the ClawD plugin C ABI, version 1.
 *
 * A plugin is a shared library (.so, .dylib, .dll) that exports exactly one
 * entry point:
 *
 *     CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void);
 *
 * The host calls it once, right after opening the library, and reads the
 * returned table. Everything the host hands back to the plugin goes through
 * a ClawaContext.
 *
 * Ownership and lifetime, in one paragraph:
 *   - Memory the plugin returns (the ClawaPlugin table and its two strings)
 *     is owned by the plugin and must stay valid and unchanged until the
 *     library is closed. Static storage is the usual choice.
 *   - Memory the host passes in (the context, every const char * argument)
 *     is owned by the host and valid only until the callback returns. Copy
 *     what you need to keep; never free it.
 *   - Strings are NUL-terminated UTF-8 and never contain an interior NUL.
 *     JSON arguments are complete JSON texts.
 *
 * Threading: unless the plugin's manifest says `concurrent = true`, the host
 * never calls into one plugin from two threads at once. `log` and
 * `send_event` may be called from any thread, including the plugin's own,
 * but only while the callback that received the context is running.
 *
 * Works as C99 and as C++ (98 and later); every offset below is checked at
 * compile time on LP64, Win64 and wasm32 targets.
 */
#ifndef CLAWD_PLUGIN_H
#define CLAWD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. Put it in ClawaPlugin.abi_version. */
#define CLAWD_PLUGIN_ABI_VERSION 1u

/* Number of reserved slots at the end of each struct. */
#define CLAWD_PLUGIN_RESERVED 8

/*
 * CLAWD_PLUGIN_EXPORT marks clawd_plugin_init as exported with C linkage:
 * __declspec(dllexport) on PE (Windows, Cygwin), default visibility on ELF
 * and Mach-O, so it stays visible under -fvisibility=hidden, and the module
 * export "clawd_plugin_init" on WebAssembly: there the export carries that
 * name, so mark clawd_plugin_init with CLAWD_PLUGIN_EXPORT and nothing else
 * (CLAWD_PLUGIN_VISIBLE is the plain visibility attribute).
 */
#if defined(_WIN32) || defined(__CYGWIN__)
#  define CLAWD_PLUGIN_VISIBLE __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#  define CLAWD_PLUGIN_VISIBLE __attribute__((visibility("default")))
#else
#  define CLAWD_PLUGIN_VISIBLE
#endif

#if defined(__wasm__)
   /* WebAssembly: the module export clawd_plugin_init (link clawd_plugin_wasm.c) */
#  define CLAWD_PLUGIN_EXPORT_ATTR __attribute__((export_name("clawd_plugin_init")))
#else
#  define CLAWD_PLUGIN_EXPORT_ATTR
#endif

#ifdef __cplusplus
#  define CLAWD_PLUGIN_EXPORT extern "C" CLAWD_PLUGIN_VISIBLE CLAWD_PLUGIN_EXPORT_ATTR
#else
#  define CLAWD_PLUGIN_EXPORT CLAWD_PLUGIN_VISIBLE CLAWD_PLUGIN_EXPORT_ATTR
#endif

/*
 * ClawaError: what every fallible callback returns (a C enum, passed as a
 * 32-bit int). Hosts treat any value they do not know as an error of unknown
 * kind, never as success; later minor versions may add values above 5.
 */
typedef enum ClawaError {
    CLAWA_ERROR_NONE = 0,              /* success */
    CLAWA_ERROR_INIT_FAILED = 1,       /* plugin setup failed (on_load) */
    CLAWA_ERROR_CALLBACK_ERROR = 2,    /* a callback failed */
    CLAWA_ERROR_CAPABILITY_DENIED = 3, /* operation not allowed for this plugin */
    CLAWA_ERROR_NOT_FOUND = 4,         /* resource does not exist */
    CLAWA_ERROR_DAEMON_ERROR = 5       /* host-side failure */
} ClawaError;

/* Log levels for ClawaContext.log. Other values are logged at warn. */
enum {
    CLAWA_LOG_TRACE = 0,
    CLAWA_LOG_DEBUG = 1,
    CLAWA_LOG_INFO = 2,
    CLAWA_LOG_WARN = 3,
    CLAWA_LOG_ERROR = 4
};

/* Event types of the ABI, for hosts and plugins that enumerate them. */
typedef enum ClawaEventType {
    CLAWA_EVENT_SESSION_START = 0,
    CLAWA_EVENT_SESSION_END = 1,
    CLAWA_EVENT_TOOL_CALL = 2,
    CLAWA_EVENT_MESSAGE = 3,
    CLAWA_EVENT_TASK_STATUS = 4,
    CLAWA_EVENT_GIT_COMMIT = 5,
    CLAWA_EVENT_SHUTDOWN = 6
} ClawaEventType;

typedef struct ClawaContext ClawaContext;

/*
 * ClawaContext: the host's side of a call. The host creates it; the plugin
 * only reads it. It is valid only while the callback it was passed to runs:
 * a context used after that is stale (log is dropped, send_event returns
 * CLAWA_ERROR_DAEMON_ERROR).
 */
struct ClawaContext {
    /* Owned by the host; opaque to the plugin. Never read or write it. */
    void *_inner;

    /*
     * Sends an event to the host. Needs the `network.relay` capability,
     * otherwise returns CLAWA_ERROR_CAPABILITY_DENIED.
     *   method:      NUL-terminated UTF-8, owned by the plugin, read before
     *                the call returns; must not be NULL or empty.
     *   params_json: NUL-terminated UTF-8 JSON object, owned by the plugin,
     *                read before the call returns; must not be NULL.
     * Returns CLAWA_ERROR_NONE once the host has accepted the event, or the
     * reason it refused it. Callable from any thread while the callback runs.
     */
    ClawaError (*send_event)(ClawaContext *ctx, const char *method, const char *params_json);

    /*
     * Writes a log line in the host's log, tagged with the plugin's name and
     * version. level: a CLAWA_LOG_* value. msg: NUL-terminated UTF-8, owned
     * by the plugin, read before the call returns. Callable from any thread
     * while the callback runs.
     */
    void (*log)(ClawaContext *ctx, uint8_t level, const char *msg);

    /* Set to NULL by the host; reserved for later minor versions. */
    void *_reserved[CLAWD_PLUGIN_RESERVED];
};

/*
 * ClawaPlugin: the table clawd_plugin_init returns. Owned by the plugin; it
 * and its strings must stay valid and unchanged until the library is closed.
 * Every callback may be NULL: NULL means "not handled", and the host skips
 * that event. Every const char * argument is owned by the host and valid
 * only until the callback returns.
 */
typedef struct ClawaPlugin {
    /* Must be CLAWD_PLUGIN_ABI_VERSION; anything else is refused. */
    uint32_t abi_version;

    /* Plugin name: NUL-terminated UTF-8, at most 256 bytes with its NUL.
     * Owned by the plugin, lives until the library is closed. */
    const char *name;

    /* Plugin version: NUL-terminated semver (e.g. "1.2.0"), at most 256
     * bytes. Owned by the plugin, lives until the library is closed. */
    const char *version;

    /* Called once after init. Return CLAWA_ERROR_NONE, or the library is
     * closed again without on_unload. */
    ClawaError (*on_load)(ClawaContext *ctx);

    /* Called once before the library is closed, after every other call has
     * returned. After it returns, no context may be used again. */
    void (*on_unload)(ClawaContext *ctx);

    /* A session began. session_id: NUL-terminated UTF-8. */
    ClawaError (*on_session_start)(ClawaContext *ctx, const char *session_id);

    /* A session ended. session_id: NUL-terminated UTF-8. */
    ClawaError (*on_session_end)(ClawaContext *ctx, const char *session_id);

    /* The agent calls a tool. tool_name: UTF-8; input_json: a JSON text of
     * any size (tests use 1 MiB). */
    ClawaError (*on_tool_call)(ClawaContext *ctx, const char *session_id,
                               const char *tool_name, const char *input_json);

    /* A message in the session. role: "user" or "assistant";
     * content_json: a JSON text. */
    ClawaError (*on_message)(ClawaContext *ctx, const char *session_id,
                             const char *role, const char *content_json);

    /* Must all be NULL; hosts refuse a table with any of them set. */
    void (*_reserved[CLAWD_PLUGIN_RESERVED])(void);
} ClawaPlugin;

/*
 * The one symbol a plugin exports. Returns the plugin's table, valid and
 * unchanged until the library is closed, or NULL if the plugin cannot start.
 * The host calls it once per open; calling it again must return the same
 * table. Define it as:
 *
 *     CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
 */
CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void);
typedef ClawaPlugin *(*ClawaPluginInitFn)(void);
#define CLAWD_PLUGIN_INIT_SYMBOL "clawd_plugin_init"

/* Compile-time layout checks (LP64 and Win64: 8-byte pointers). */
#if (defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ == 8) || defined(_WIN64)
#  if defined(__cplusplus) && __cplusplus >= 201103L
#    define CLAWD_STATIC_ASSERT(cond, name) static_assert(cond, #name)
#  elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#    define CLAWD_STATIC_ASSERT(cond, name) _Static_assert(cond, #name)
#  else /* C99, C++98: a negative array size fails the build */
#    define CLAWD_STATIC_ASSERT(cond, name) \
        typedef char clawd_static_assert_##name[(cond) ? 1 : -1]
#  endif
CLAWD_STATIC_ASSERT(sizeof(ClawaError) == 4, clawa_error_is_32_bit);
CLAWD_STATIC_ASSERT(offsetof(ClawaContext, _inner) == 0, ctx_inner_at_0);
CLAWD_STATIC_ASSERT(offsetof(ClawaContext, send_event) == 8, ctx_send_event_at_8);
CLAWD_STATIC_ASSERT(offsetof(ClawaContext, log) == 16, ctx_log_at_16);
CLAWD_STATIC_ASSERT(offsetof(ClawaContext, _reserved) == 24, ctx_reserved_at_24);
CLAWD_STATIC_ASSERT(sizeof(ClawaContext) == 88, ctx_size_88);
CLAWD_STATIC_ASSERT(offsetof(ClawaPlugin, abi_version) == 0, plugin_abi_version_at_0);
CLAWD_STATIC_ASSERT(offsetof(ClawaPlugin, name) == 8, plugin_name_at_8);
CLAWD_STATIC_ASSERT(offsetof(ClawaPlugin, version) == 16, plugin_version_at_16);
CLAWD_STATIC_ASSERT(offsetof(ClawaPlugin, on_load) == 24, plugin_on_load_at_24);
CLAWD_STATIC_ASSERT(offsetof(ClawaPlugin, on_unload) == 32, plugin_on_unload_at_32);
CLAWD_STATIC_ASSERT(offsetof(ClawaPlugin, on_session_start) == 40, plugin_on_session_start_at_40);
CLAWD_STATIC_ASSERT(offsetof(ClawaPlugin, on_session_end) == 48, plugin_on_session_end_at_48);
CLAWD_STATIC_ASSERT(offsetof(ClawaPlugin, on_tool_call) == 56, plugin_on_tool_call_at_56);
CLAWD_STATIC_ASSERT(offsetof(ClawaPlugin, on_message) == 64, plugin_on_message_at_64);
CLAWD_STATIC_ASSERT(offsetof(ClawaPlugin, _reserved) == 72, plugin_reserved_at_72);
CLAWD_STATIC_ASSERT(sizeof(ClawaPlugin) == 136, plugin_size_136);
#elif defined(__wasm32__)
/* wasm32: 4-byte pointers; a function pointer is a function table index. */
#  if defined(__cplusplus) && __cplusplus >= 201103L
#    define CLAWD_STATIC_ASSERT(cond, name) static_assert(cond, #name)
#  elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#    define CLAWD_STATIC_ASSERT(cond, name) _Static_assert(cond, #name)
#  else
#    define CLAWD_STATIC_ASSERT(cond, name) \
        typedef char clawd_static_assert_##name[(cond) ? 1 : -1]
#  endif
CLAWD_STATIC_ASSERT(sizeof(ClawaError) == 4, clawa_error_is_32_bit);
CLAWD_STATIC_ASSERT(offsetof(ClawaContext, send_event) == 4, ctx_send_event_at_4);
CLAWD_STATIC_ASSERT(offsetof(ClawaContext, log) == 8, ctx_log_at_8);
CLAWD_STATIC_ASSERT(offsetof(ClawaContext, _reserved) == 12, ctx_reserved_at_12);
CLAWD_STATIC_ASSERT(sizeof(ClawaContext) == 44, ctx_size_44);
CLAWD_STATIC_ASSERT(offsetof(ClawaPlugin, name) == 4, plugin_name_at_4);
CLAWD_STATIC_ASSERT(offsetof(ClawaPlugin, on_load) == 12, plugin_on_load_at_12);
CLAWD_STATIC_ASSERT(offsetof(ClawaPlugin, on_tool_call) == 28, plugin_on_tool_call_at_28);
CLAWD_STATIC_ASSERT(offsetof(ClawaPlugin, _reserved) == 36, plugin_reserved_at_36);
CLAWD_STATIC_ASSERT(sizeof(ClawaPlugin) == 68, plugin_size_68);
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CLAWD_PLUGIN_H */
