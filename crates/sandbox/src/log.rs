//! A sandbox's log stream: the guest's stdout and stderr, captured and bounded.
//!
//! wasmtime-wasi's `MemoryOutputPipe` traps the guest when it is full; a Lambda function that logs too much is not
//! killed for it, so this pipe drops the excess instead and counts it. The driver drains it after each call.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// Most bytes of log kept per call; the rest is dropped and reported by a marker line.
pub const LOG_CAPACITY_PER_CALL: usize = 1 << 20;

#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
    dropped: u64,
}

/// A cloneable handle on one sandbox's log buffer.
#[derive(Clone, Default)]
pub struct LogPipe {
    inner: Arc<Mutex<Buffer>>,
    /// Set on every write, cleared on drain: lets the hot path skip the lock when nothing was logged.
    dirty: Arc<AtomicBool>,
}

impl LogPipe {
    fn lock(&self) -> MutexGuard<'_, Buffer> {
        // A poisoned lock only means another holder panicked mid-append; the bytes are still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn append(&self, data: &[u8]) {
        self.dirty.store(true, Ordering::Relaxed);
        let mut buf = self.lock();
        let room = LOG_CAPACITY_PER_CALL.saturating_sub(buf.bytes.len());
        let take = data.len().min(room);
        buf.bytes.extend_from_slice(&data[..take]);
        buf.dropped += (data.len() - take) as u64;
    }

    /// Appends what the guest wrote to stdout or stderr.
    pub(crate) fn write(&self, data: &[u8]) {
        self.append(data);
    }

    /// Appends a host-written line (e.g. a crash's details) to the log.
    pub fn write_marker(&self, line: &[u8]) {
        self.append(line);
    }

    /// Takes what was logged since the last drain, with a marker line if anything was dropped.
    pub fn drain(&self) -> Vec<u8> {
        let mut buf = self.lock();
        self.dirty.store(false, Ordering::Relaxed);
        let mut out = std::mem::take(&mut buf.bytes);
        if buf.dropped > 0 {
            if !out.is_empty() && !out.ends_with(b"\n") {
                out.push(b'\n');
            }
            out.extend_from_slice(
                format!(
                    "[lambda-sim] log truncated: {} bytes dropped\n",
                    buf.dropped
                )
                .as_bytes(),
            );
            buf.dropped = 0;
        }
        out
    }

    /// True when nothing is buffered (the common case on the hot path: skip the drain).
    pub fn is_empty(&self) -> bool {
        !self.dirty.load(Ordering::Relaxed)
    }
}

impl IsTerminal for LogPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl OutputStream for LogPipe {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.append(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always accept: excess is dropped in `append`, never refused.
        Ok(LOG_CAPACITY_PER_CALL)
    }
}

#[async_trait::async_trait]
impl Pollable for LogPipe {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for LogPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_is_dropped_and_marked() {
        let pipe = LogPipe::default();
        pipe.append(&vec![b'x'; LOG_CAPACITY_PER_CALL - 2]);
        pipe.append(b"abcd");
        let out = pipe.drain();
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.ends_with("[lambda-sim] log truncated: 2 bytes dropped\n"),
            "{}",
            &text[text.len() - 60..]
        );
        assert_eq!(
            out.len(),
            LOG_CAPACITY_PER_CALL + 1 + "[lambda-sim] log truncated: 2 bytes dropped\n".len()
        );
        assert!(pipe.is_empty());
    }
}
