//! clawd_plugin.rs: the ClawD plugin C ABI, version 1, for Rust.
//!
//! The same declarations as include/clawd_plugin.h, field for field, as
//! `#[repr(C)]` types. include/layout_test.go compiles
//! include/testdata/layout_print.rs against this file and checks every size
//! and offset against the one list in include/include.go, so a drift fails
//! the tests, not a host.
//!
//! Ownership and lifetime are those of the C header:
//!   - the `ClawaPlugin` table and its `name`/`version` strings belong to the
//!     plugin and must live until the library is closed (use a `static` and
//!     `c"..."` literals);
//!   - `ctx` and every `*const c_char` argument belong to the host and are
//!     valid only until the callback returns: copy what you keep, never free
//!     them, never keep `ctx`;
//!   - strings are NUL-terminated UTF-8 without interior NULs.
//!
//! `ClawaError` is a transparent `i32`, not a Rust `enum`: a later minor
//! version of the ABI may add codes, and a Rust enum holding a value it does
//! not declare is undefined behaviour.
#![allow(dead_code)]

use core::ffi::{c_char, c_void};

/// The ABI version these declarations describe: put it in `abi_version`.
pub const CLAWD_PLUGIN_ABI_VERSION: u32 = 1;

/// Number of reserved slots at the end of each struct.
pub const CLAWD_PLUGIN_RESERVED: usize = 8;

/// What every fallible callback returns (a C enum: 32 bits).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClawaError(pub i32);

impl ClawaError {
    /// Success.
    pub const NONE: Self = Self(0);
    /// Plugin setup failed (on_load).
    pub const INIT_FAILED: Self = Self(1);
    /// A callback failed.
    pub const CALLBACK_ERROR: Self = Self(2);
    /// Operation not allowed for this plugin (send_event without network.relay).
    pub const CAPABILITY_DENIED: Self = Self(3);
    /// Resource does not exist.
    pub const NOT_FOUND: Self = Self(4);
    /// Host-side failure (also: a context used after its callback returned).
    pub const DAEMON_ERROR: Self = Self(5);
}

/// Log levels for `ClawaContext::log`. Other values are logged at warn.
pub const CLAWA_LOG_TRACE: u8 = 0;
pub const CLAWA_LOG_DEBUG: u8 = 1;
pub const CLAWA_LOG_INFO: u8 = 2;
pub const CLAWA_LOG_WARN: u8 = 3;
pub const CLAWA_LOG_ERROR: u8 = 4;

/// The host's side of a call; valid only while the callback it was passed to
/// runs. `log` and `send_event` may be called from any thread, but only
/// while that callback runs.
#[repr(C)]
pub struct ClawaContext {
    /// Owned by the host; opaque to the plugin.
    pub _inner: *mut c_void,
    /// Sends an event (needs the network.relay capability, otherwise
    /// CAPABILITY_DENIED). `method` and `params_json` (a JSON object) are read
    /// before it returns.
    pub send_event: Option<
        unsafe extern "C" fn(ctx: *mut ClawaContext, method: *const c_char, params_json: *const c_char) -> ClawaError,
    >,
    /// Writes a line in the host's log; `msg` is read before it returns.
    pub log: Option<unsafe extern "C" fn(ctx: *mut ClawaContext, level: u8, msg: *const c_char)>,
    /// Set to NULL by the host.
    pub _reserved: [*mut c_void; CLAWD_PLUGIN_RESERVED],
}

/// The table `clawd_plugin_init` returns. Every callback may be `None`: the
/// host then skips that event.
#[repr(C)]
pub struct ClawaPlugin {
    /// Must be CLAWD_PLUGIN_ABI_VERSION.
    pub abi_version: u32,
    /// NUL-terminated UTF-8, at most 256 bytes with its NUL.
    pub name: *const c_char,
    /// NUL-terminated semver, at most 256 bytes with its NUL.
    pub version: *const c_char,
    pub on_load: Option<unsafe extern "C" fn(ctx: *mut ClawaContext) -> ClawaError>,
    pub on_unload: Option<unsafe extern "C" fn(ctx: *mut ClawaContext)>,
    pub on_session_start: Option<unsafe extern "C" fn(ctx: *mut ClawaContext, session_id: *const c_char) -> ClawaError>,
    pub on_session_end: Option<unsafe extern "C" fn(ctx: *mut ClawaContext, session_id: *const c_char) -> ClawaError>,
    pub on_tool_call: Option<
        unsafe extern "C" fn(
            ctx: *mut ClawaContext,
            session_id: *const c_char,
            tool_name: *const c_char,
            input_json: *const c_char,
        ) -> ClawaError,
    >,
    pub on_message: Option<
        unsafe extern "C" fn(
            ctx: *mut ClawaContext,
            session_id: *const c_char,
            role: *const c_char,
            content_json: *const c_char,
        ) -> ClawaError,
    >,
    /// Must all be None.
    pub _reserved: [Option<unsafe extern "C" fn()>; CLAWD_PLUGIN_RESERVED],
}

// The table lives in a `static`, which must be Sync; its raw pointers are
// only ever read (they point at 'static C string literals).
unsafe impl Sync for ClawaPlugin {}
