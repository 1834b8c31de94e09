//! `serve`'s HTTP connections: hyper's HTTP/1 server under the API router, with the timeouts that keep a slow or
//! silent client from holding the server, and a shutdown bounded whatever clients do.
//!
//! - **Header read timeout**: a request head must arrive whole within it, from its first byte.
//! - **Body read timeout**: a request body must arrive whole within it, from the end of the head; a handler reading
//!   it gets [`BodyTimeout`] (Invoke answers 408).
//! - **Idle timeout**: a keep-alive connection with no request in progress is closed after it.
//!
//! Shutdown: the listener closes, every connection finishes the request it is serving and closes; when the
//! `force` future resolves (the bound, or a second signal), the connections still open are dropped. Invocations
//! run on tasks of their own (see `invoke`), so dropping a connection never loses one.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tower::ServiceExt;

/// How long `serve` waits on a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    pub header_read: Duration,
    pub body_read: Duration,
    pub idle: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        HttpTimeouts {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(30),
            idle: Duration::from_secs(60),
        }
    }
}

/// A request body did not arrive within the body read timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s", .0.as_secs_f64())]
pub struct BodyTimeout(pub Duration);

/// What a connection is doing, for its timeouts.
struct Activity(Mutex<ActivityState>);

struct ActivityState {
    /// Requests being served (their head has been read).
    active: u32,
    /// When the first byte of the next request head arrived, if one did.
    head_started: Option<Instant>,
    /// When the connection last had nothing to do.
    idle_since: Instant,
}

impl Activity {
    fn new() -> Self {
        Activity(Mutex::new(ActivityState {
            active: 0,
            head_started: None,
            idle_since: Instant::now(),
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bytes_read(&self) {
        let mut s = self.state();
        if s.active == 0 && s.head_started.is_none() {
            s.head_started = Some(Instant::now());
        }
    }

    fn begin(self: &Arc<Self>) -> ActiveRequest {
        let mut s = self.state();
        s.active += 1;
        s.head_started = None;
        ActiveRequest(self.clone())
    }

    /// Whether the client has kept the connection waiting too long: a head not finished in time, or idle.
    fn expired(&self, t: &HttpTimeouts) -> bool {
        let s = self.state();
        match (s.active, s.head_started) {
            (0, Some(started)) => started.elapsed() > t.header_read,
            (0, None) => s.idle_since.elapsed() > t.idle,
            _ => false,
        }
    }
}

/// A request being served; the connection is idle again when the last one is dropped (answered, or abandoned by
/// hyper when the client went away).
struct ActiveRequest(Arc<Activity>);

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        let mut s = self.0.state();
        s.active = s.active.saturating_sub(1);
        if s.active == 0 {
            s.idle_since = Instant::now();
        }
    }
}

/// The connection's socket, telling its [`Activity`] when bytes arrive.
struct Watched<S> {
    io: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A request body that fails with [`BodyTimeout`] if it has not ended by its deadline.
struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimeout(self.limit).into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets connections finish the request
/// they serve, and drops those still open when `force` resolves.
pub async fn serve_router(
    app: axum::Router,
    listener: tokio::net::TcpListener,
    timeouts: HttpTimeouts,
    shutdown: impl Future<Output = ()>,
    force: impl Future<Output = ()>,
) {
    let (closing, closing_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(stream, app.clone(), timeouts, closing_rx.clone()));
                }
                // Out of file descriptors and the like: wait a little rather than spin.
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = closing.send(true);
    tokio::pin!(force);
    loop {
        tokio::select! {
            biased;
            () = &mut force => {
                connections.abort_all();
                break;
            }
            next = connections.join_next() => if next.is_none() { break },
        }
    }
    while connections.join_next().await.is_some() {}
}

/// One connection, until the client closes it, a timeout expires, or shutdown closes it.
async fn connection(
    stream: tokio::net::TcpStream,
    app: axum::Router,
    timeouts: HttpTimeouts,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        io: stream,
        activity: activity.clone(),
    });
    let watch = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let active = activity.begin();
        let request = request.map(|inner| TimedBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeouts.body_read)),
            limit: timeouts.body_read,
        });
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await;
            drop(active);
            response
        }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::pin!(conn);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut shutting_down = *closing.borrow();
    if shutting_down {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = closing.changed(), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick() => if watch.expired(&timeouts) {
                // Dropping the connection closes it.
                return;
            },
        }
    }
}
