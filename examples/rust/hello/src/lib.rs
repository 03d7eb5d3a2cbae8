//! hello-rust: the ClawD plugin example in Rust. It behaves like
//! examples/c/hello: a log line at info level for each callback, and on a
//! tool call the event "hello.tool_called" {"tool":"<name>"} (needs the
//! network.relay capability).
//!
//! Lifetime rules (include/clawd_plugin.h has the full text): the table and
//! its strings are `'static`; `ctx` and every `*const c_char` argument are
//! the host's and valid only until the callback returns, so we copy what we
//! use (`CStr::to_string_lossy` borrows, and everything built from it is
//! owned); the strings we pass to `log` and `send_event` are read before
//! those return, so temporaries are fine.

// The ABI's #[repr(C)] types. They are declared in the repository, next to
// the C header, rather than taken from a crate: see the README.
#[path = "../../../../include/clawd_plugin.rs"]
mod clawd_plugin;

use clawd_plugin::*;
use std::borrow::Cow;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Lines are cut at this many bytes: input_json can be megabytes.
const MAX_LINE: usize = 511;

/// A host string as UTF-8 (the host sends UTF-8; anything else is replaced,
/// never trusted). The pointer must be valid until the callback returns.
unsafe fn host_str<'a>(p: *const c_char) -> Cow<'a, str> {
    if p.is_null() {
        return Cow::Borrowed("");
    }
    CStr::from_ptr(p).to_string_lossy()
}

unsafe fn say(ctx: *mut ClawaContext, level: u8, line: &str) {
    let mut end = line.len().min(MAX_LINE);
    while !line.is_char_boundary(end) {
        end -= 1; // cut on a character boundary: the host wants valid UTF-8
    }
    // No interior NUL can come from the host's strings; drop the line if one did.
    if let (Ok(msg), Some(log)) = (CString::new(&line[..end]), (*ctx).log) {
        log(ctx, level, msg.as_ptr());
    }
}

/// A JSON string literal for s: quotes, backslashes and control characters escaped.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs body; a panic becomes CALLBACK_ERROR instead of unwinding into the
/// host. With `panic = "abort"` (our Cargo.toml) a panic aborts before this
/// catches anything; the guard is for builds with `panic = "unwind"`.
fn guard(body: impl FnOnce() -> ClawaError) -> ClawaError {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(ClawaError::CALLBACK_ERROR)
}

unsafe extern "C" fn on_load(ctx: *mut ClawaContext) -> ClawaError {
    guard(|| {
        say(ctx, CLAWA_LOG_INFO, "hello plugin loaded");
        ClawaError::NONE
    })
}

unsafe extern "C" fn on_unload(ctx: *mut ClawaContext) {
    guard(|| {
        say(ctx, CLAWA_LOG_INFO, "goodbye");
        ClawaError::NONE
    });
}

unsafe extern "C" fn on_session_start(ctx: *mut ClawaContext, session_id: *const c_char) -> ClawaError {
    guard(|| {
        say(ctx, CLAWA_LOG_INFO, &format!("session {} started", host_str(session_id)));
        ClawaError::NONE
    })
}

unsafe extern "C" fn on_session_end(ctx: *mut ClawaContext, session_id: *const c_char) -> ClawaError {
    guard(|| {
        say(ctx, CLAWA_LOG_INFO, &format!("session {} ended", host_str(session_id)));
        ClawaError::NONE
    })
}

unsafe extern "C" fn on_tool_call(
    ctx: *mut ClawaContext,
    _session_id: *const c_char,
    tool_name: *const c_char,
    input_json: *const c_char,
) -> ClawaError {
    guard(|| {
        let tool = host_str(tool_name);
        say(ctx, CLAWA_LOG_INFO, &format!("tool {} called with {}", tool, host_str(input_json)));
        let params = CString::new(format!("{{\"tool\":{}}}", json_string(&tool))).unwrap_or_default();
        let rc = match (*ctx).send_event {
            Some(send) => send(ctx, c"hello.tool_called".as_ptr(), params.as_ptr()),
            None => ClawaError::DAEMON_ERROR,
        };
        if rc != ClawaError::NONE {
            // Without network.relay the host answers CAPABILITY_DENIED: say
            // so, but the tool call itself still succeeds.
            say(ctx, CLAWA_LOG_WARN, &format!("the host refused the event (ClawaError {})", rc.0));
        }
        ClawaError::NONE
    })
}

unsafe extern "C" fn on_message(
    ctx: *mut ClawaContext,
    _session_id: *const c_char,
    role: *const c_char,
    content_json: *const c_char,
) -> ClawaError {
    guard(|| {
        say(ctx, CLAWA_LOG_INFO, &format!("message from {}: {}", host_str(role), host_str(content_json)));
        ClawaError::NONE
    })
}

/// Valid until the library is closed: a static with 'static strings. The
/// reserved slots stay None (NULL).
static TABLE: ClawaPlugin = ClawaPlugin {
    abi_version: CLAWD_PLUGIN_ABI_VERSION,
    name: c"hello-rust".as_ptr(),
    version: c"1.0.0".as_ptr(),
    on_load: Some(on_load),
    on_unload: Some(on_unload),
    on_session_start: Some(on_session_start),
    on_session_end: Some(on_session_end),
    on_tool_call: Some(on_tool_call),
    on_message: Some(on_message),
    _reserved: [None; CLAWD_PLUGIN_RESERVED],
};

/// The one exported symbol. The host only reads the table, so handing out
/// a *mut to an immutable static is sound.
#[no_mangle]
pub extern "C" fn clawd_plugin_init() -> *mut ClawaPlugin {
    std::ptr::addr_of!(TABLE).cast_mut()
}
