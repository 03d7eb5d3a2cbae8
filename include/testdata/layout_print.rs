//! layout_print: prints the size, alignment and every field's offset and
//! size of the ABI structs as rustc lays out the declarations in
//! include/clawd_plugin.rs, one "<key> <n>" line each, the format of
//! layout_print.c. include/layout_test.go compares the output with the one
//! list in include/include.go. Built with plain rustc (no cargo, no crates).
#[path = "../clawd_plugin.rs"]
mod clawd_plugin;

use clawd_plugin::*;
use std::mem::{align_of, offset_of, size_of, MaybeUninit};

// The size of the type a raw pointer points to: the field's own size,
// taken without creating a reference to uninitialized memory.
fn pointee_size<F>(_: *const F) -> usize {
    size_of::<F>()
}

macro_rules! strukt {
    ($t:ident) => {
        println!("{}.size {}", stringify!($t), size_of::<$t>());
        println!("{}.align {}", stringify!($t), align_of::<$t>());
    };
}

macro_rules! field {
    ($t:ident, $f:ident) => {{
        let u = MaybeUninit::<$t>::uninit();
        let p = u.as_ptr();
        println!("{}.{} {}", stringify!($t), stringify!($f), offset_of!($t, $f));
        println!("{}.{}.size {}", stringify!($t), stringify!($f), pointee_size(unsafe { std::ptr::addr_of!((*p).$f) }));
    }};
}

fn main() {
    strukt!(ClawaPlugin);
    field!(ClawaPlugin, abi_version);
    field!(ClawaPlugin, name);
    field!(ClawaPlugin, version);
    field!(ClawaPlugin, on_load);
    field!(ClawaPlugin, on_unload);
    field!(ClawaPlugin, on_session_start);
    field!(ClawaPlugin, on_session_end);
    field!(ClawaPlugin, on_tool_call);
    field!(ClawaPlugin, on_message);
    field!(ClawaPlugin, _reserved);

    strukt!(ClawaContext);
    field!(ClawaContext, _inner);
    field!(ClawaContext, send_event);
    field!(ClawaContext, log);
    field!(ClawaContext, _reserved);

    strukt!(ClawaError);
    println!("CLAWD_PLUGIN_ABI_VERSION {}", CLAWD_PLUGIN_ABI_VERSION);
    println!("CLAWD_PLUGIN_RESERVED {}", CLAWD_PLUGIN_RESERVED);
}
