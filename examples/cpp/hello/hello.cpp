// hello-cpp: the ClawD plugin example in C++17. It behaves like
// examples/c/hello: a log line at info level for each callback, and on a
// tool call the event "hello.tool_called" {"tool":"<name>"} (needs the
// network.relay capability).
//
// Two rules make C++ safe behind a C ABI:
//   - Every entry point has C linkage (the header wraps its declarations in
//     extern "C"; our callbacks sit in an extern "C" block too), so the host
//     finds clawd_plugin_init unmangled and calls the callbacks with the C
//     calling convention.
//   - No exception may cross into the host: the host is Go (or C), which
//     cannot unwind C++ frames, so an escaping exception is undefined
//     behaviour (in practice std::terminate and the host dies). Every
//     callback runs its body through guard(), which catches everything and
//     returns CLAWA_ERROR_CALLBACK_ERROR; they are also noexcept, so a throw
//     that slipped past would terminate here rather than unwind the host.
//
// Lifetime rules (include/clawd_plugin.h has the full text): the table and
// its strings are static; ctx and every const char * argument are the
// host's and valid only until the callback returns; the strings we pass to
// log and send_event are read before those return, so temporaries are fine.
#include "clawd_plugin.h"

#include <cstdio>
#include <string>

namespace {

// Lines are cut at this many bytes: input_json can be megabytes.
constexpr std::size_t kMaxLine = 511;

void say(ClawaContext *ctx, std::uint8_t level, std::string line) {
    if (line.size() > kMaxLine) {
        // Cut on a UTF-8 character boundary: the host wants valid UTF-8.
        std::size_t n = kMaxLine;
        while (n > 0 && (static_cast<unsigned char>(line[n]) & 0xC0) == 0x80)
            n--;
        line.resize(n);
    }
    ctx->log(ctx, level, line.c_str());
}

// A JSON string literal for s: quotes, backslashes and control bytes escaped.
std::string json_string(const char *s) {
    static const char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (; *s; s++) {
        unsigned char c = static_cast<unsigned char>(*s);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 0xF];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// Runs body; an exception becomes CLAWA_ERROR_CALLBACK_ERROR (and a warn
// line, if logging itself does not throw) instead of crossing into the host.
template <typename F> ClawaError guard(ClawaContext *ctx, F body) noexcept {
    try {
        return body();
    } catch (...) {
        try {
            ctx->log(ctx, CLAWA_LOG_WARN, "callback failed with a C++ exception");
        } catch (...) {
        }
        return CLAWA_ERROR_CALLBACK_ERROR;
    }
}

} // namespace

extern "C" {

static ClawaError on_load(ClawaContext *ctx) noexcept {
    return guard(ctx, [&] {
        say(ctx, CLAWA_LOG_INFO, "hello plugin loaded");
        return CLAWA_ERROR_NONE;
    });
}

// Returns nothing to report a failure with: the guard's code is dropped.
static void on_unload(ClawaContext *ctx) noexcept {
    guard(ctx, [&] {
        say(ctx, CLAWA_LOG_INFO, "goodbye");
        return CLAWA_ERROR_NONE;
    });
}

static ClawaError on_session_start(ClawaContext *ctx, const char *session_id) noexcept {
    return guard(ctx, [&] {
        say(ctx, CLAWA_LOG_INFO, std::string("session ") + session_id + " started");
        return CLAWA_ERROR_NONE;
    });
}

static ClawaError on_session_end(ClawaContext *ctx, const char *session_id) noexcept {
    return guard(ctx, [&] {
        say(ctx, CLAWA_LOG_INFO, std::string("session ") + session_id + " ended");
        return CLAWA_ERROR_NONE;
    });
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *, const char *tool_name,
                               const char *input_json) noexcept {
    return guard(ctx, [&] {
        say(ctx, CLAWA_LOG_INFO, std::string("tool ") + tool_name + " called with " + input_json);
        std::string params = "{\"tool\":" + json_string(tool_name) + "}";
        ClawaError rc = ctx->send_event(ctx, "hello.tool_called", params.c_str());
        if (rc != CLAWA_ERROR_NONE) {
            // Without network.relay the host answers CAPABILITY_DENIED: say
            // so, but the tool call itself still succeeds.
            // snprintf, not std::to_string: with libstdc++ the latter adds a
            // GNU "unique" symbol, which makes the library impossible to unload.
            char line[64];
            std::snprintf(line, sizeof line, "the host refused the event (ClawaError %d)", static_cast<int>(rc));
            say(ctx, CLAWA_LOG_WARN, line);
        }
        return CLAWA_ERROR_NONE;
    });
}

static ClawaError on_message(ClawaContext *ctx, const char *, const char *role,
                             const char *content_json) noexcept {
    return guard(ctx, [&] {
        say(ctx, CLAWA_LOG_INFO, std::string("message from ") + role + ": " + content_json);
        return CLAWA_ERROR_NONE;
    });
}

// Static, constant-initialized: valid until the library is closed. The
// reserved slots stay NULL.
static ClawaPlugin table = {
    CLAWD_PLUGIN_ABI_VERSION,
    "hello-cpp",
    "1.0.0",
    on_load,
    on_unload,
    on_session_start,
    on_session_end,
    on_tool_call,
    on_message,
    {},
};

} // extern "C"

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &table; }
