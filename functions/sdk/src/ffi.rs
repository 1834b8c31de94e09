//! The SDK's only `unsafe` code: the raw imports of the host's `lambda` module (docs/abi.md) and the thin safe
//! wrappers the rest of the SDK uses.
//!
//! On `wasm32` the wrappers call the real imports. Elsewhere (native builds, `cargo test`) they use a per-thread
//! stand-in whose state the [`crate::testing`] module sets and reads, so the SDK and handler crates can be unit
//! tested without the host.

pub(crate) use imp::{
    event, remaining_time_ms, report_error, request_id, response_write, service_call, wait_us,
};

#[cfg(target_arch = "wasm32")]
mod imp {
    /// The host's imports. Pointers are offsets into our exported `memory` (the host reads/writes only the ranges
    /// we name); lengths are `i32`s the host interprets as unsigned.
    mod raw {
        #[link(wasm_import_module = "lambda")]
        unsafe extern "C" {
            pub safe fn event_len() -> i32;
            pub fn event_read(ptr: *mut u8, len: i32) -> i32;
            pub fn response_write(ptr: *const u8, len: i32) -> i32;
            pub fn error(type_ptr: *const u8, type_len: i32, msg_ptr: *const u8, msg_len: i32);
            pub fn request_id(ptr: *mut u8, len: i32) -> i32;
            pub safe fn remaining_time_ms() -> i64;
            pub safe fn wait_us(micros: i64) -> i32;
            pub fn service_call(name_ptr: *const u8, name_len: i32) -> i32;
            pub fn service_message(ptr: *mut u8, len: i32) -> i32;
        }
    }

    /// Converts a buffer length to the ABI's `i32` (reinterpreted as unsigned by the host). On wasm32 `usize` is
    /// 32 bits, so this is lossless.
    fn abi_len(len: usize) -> i32 {
        len as u32 as i32
    }

    /// The whole event of the current invocation (empty during `init`).
    pub(crate) fn event() -> Vec<u8> {
        let len = raw::event_len() as u32 as usize;
        let mut buf = vec![0u8; len];
        if len == 0 {
            return buf;
        }
        // SAFETY: `buf` is a live, writable allocation of exactly `len` bytes; the host copies at most `len` bytes
        // into it and returns how many it copied.
        let copied = unsafe { raw::event_read(buf.as_mut_ptr(), abi_len(len)) } as u32 as usize;
        buf.truncate(copied.min(len));
        buf
    }

    /// Appends `bytes` to the response. Returns `false` when the host refused them (response over 6 MB).
    pub(crate) fn response_write(bytes: &[u8]) -> bool {
        if bytes.is_empty() {
            return true;
        }
        // SAFETY: `bytes` is a live, readable slice; the host only reads `bytes.len()` bytes from its start.
        unsafe { raw::response_write(bytes.as_ptr(), abi_len(bytes.len())) == 0 }
    }

    /// Records a handled error for the current call (a later call replaces an earlier one).
    pub(crate) fn report_error(error_type: &str, message: &str) {
        // SAFETY: both slices are live and readable for their whole length; the host only reads them.
        unsafe {
            raw::error(
                error_type.as_ptr(),
                abi_len(error_type.len()),
                message.as_ptr(),
                abi_len(message.len()),
            )
        }
    }

    /// The current request id (a 36-byte lower-case UUID), or an empty string during `init`.
    pub(crate) fn request_id() -> String {
        let mut buf = [0u8; 36];
        // SAFETY: `buf` is a live, writable 36-byte buffer; the host writes at most `len` = 36 bytes to it.
        let total =
            unsafe { raw::request_id(buf.as_mut_ptr(), abi_len(buf.len())) } as u32 as usize;
        let written = total.min(buf.len());
        String::from_utf8_lossy(&buf[..written]).into_owned()
    }

    /// Milliseconds left before the current call times out.
    pub(crate) fn remaining_time_ms() -> i64 {
        raw::remaining_time_ms()
    }

    /// A simulated downstream wait of `micros` (must be non-negative; the caller guarantees it).
    pub(crate) fn wait_us(micros: i64) {
        raw::wait_us(micros);
    }

    /// Calls the simulated service `name`: the status (0 answered, 1 answered with an error, 2 refused, 3 no such
    /// service) and, unless 0, the host's message.
    pub(crate) fn service_call(name: &str) -> (i32, String) {
        // SAFETY: `name` is a live, readable slice; the host only reads `name.len()` bytes from its start.
        let status = unsafe { raw::service_call(name.as_ptr(), abi_len(name.len())) };
        if status == 0 {
            return (0, String::new());
        }
        let mut buf = vec![0u8; 1024];
        // SAFETY: `buf` is a live, writable allocation of `buf.len()` bytes; the host writes at most that many.
        let total =
            unsafe { raw::service_message(buf.as_mut_ptr(), abi_len(buf.len())) } as u32 as usize;
        buf.truncate(total.min(buf.len()));
        (status, String::from_utf8_lossy(&buf).into_owned())
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    //! Native stand-in for the host: a per-thread record of one call's inputs and outputs.

    use std::cell::RefCell;

    /// What the stand-in host knows about the call in progress.
    #[derive(Debug, Default)]
    pub(crate) struct MockHost {
        pub(crate) event: Vec<u8>,
        pub(crate) response: Vec<u8>,
        pub(crate) error: Option<(String, String)>,
        pub(crate) request_id: String,
        pub(crate) remaining_ms: i64,
        pub(crate) waited_us: i64,
        /// Services called, in order.
        pub(crate) service_calls: Vec<String>,
        /// What the next service calls answer (status, message), front first; empty: every call succeeds.
        pub(crate) service_replies: std::collections::VecDeque<(i32, String)>,
    }

    thread_local! {
        pub(crate) static HOST: RefCell<MockHost> = RefCell::new(MockHost::default());
    }

    pub(crate) fn event() -> Vec<u8> {
        HOST.with_borrow(|h| h.event.clone())
    }

    pub(crate) fn response_write(bytes: &[u8]) -> bool {
        HOST.with_borrow_mut(|h| h.response.extend_from_slice(bytes));
        true
    }

    pub(crate) fn report_error(error_type: &str, message: &str) {
        HOST.with_borrow_mut(|h| h.error = Some((error_type.to_owned(), message.to_owned())));
    }

    pub(crate) fn request_id() -> String {
        HOST.with_borrow(|h| h.request_id.clone())
    }

    pub(crate) fn remaining_time_ms() -> i64 {
        HOST.with_borrow(|h| h.remaining_ms)
    }

    pub(crate) fn service_call(name: &str) -> (i32, String) {
        HOST.with_borrow_mut(|h| {
            h.service_calls.push(name.to_owned());
            h.service_replies.pop_front().unwrap_or((0, String::new()))
        })
    }

    pub(crate) fn wait_us(micros: i64) {
        HOST.with_borrow_mut(|h| {
            h.waited_us = h.waited_us.saturating_add(micros);
            h.remaining_ms = h.remaining_ms.saturating_sub(micros / 1000);
        });
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use imp::{HOST, MockHost};
