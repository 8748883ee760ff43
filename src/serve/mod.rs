//! The HTTP serving plumbing the log (`rget log serve`) and the witness (`rget witness serve`) share,
//! on hyper 1 (HTTP/1.1) over a tokio runtime; each brings its own routes and handlers, and neither
//! imports the other.
//!
//! - [`serve_connections`]: the accept loop, with every [`Limits`] bound: a cap on concurrent
//!   connections (at the cap the server stops accepting, so the kernel backlog, not our memory,
//!   absorbs the excess), request head size ([`MAX_HEAD_BYTES`]), a header read timeout (also
//!   closing idle keep-alive connections), a write timeout on every connection ([`TimedIo`]), and a
//!   graceful stop on [`shutdown_signals`].
//! - [`body::read_body`]: a request body within a size and a time limit.
//! - [`response`]: one-line answers and the headers every answer sets.
//! - [`logfmt`]: one structured log line per event on standard error.
//! - [`rate`]: per-client rate limits (the log's `POST /add`).

pub mod body;
pub mod logfmt;
pub mod rate;
pub mod response;
mod timed_io;

use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use logfmt::{Level, event};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

pub use response::Answer;
pub use timed_io::TimedIo;

/// Largest request head (request line and headers) hyper buffers. hyper refuses less than 8 KiB;
/// a log or witness request needs well under 8 KiB (a 2 KiB URL, percent-encoded, plus a few
/// headers).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Server limits. Every one bounds what a client can make the server hold.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Concurrent connections; at the cap the server stops accepting.
    pub max_connections: usize,
    /// Largest accepted request body (the log's `POST /add`, the witness's `add-checkpoint`).
    pub max_body: usize,
    /// Time a client has to send a complete request head; also the idle keep-alive timeout.
    pub header_timeout: Duration,
    /// Time a client has to send the whole request body.
    pub body_timeout: Duration,
    /// Longest a single write may stay blocked on a client that does not read.
    pub write_timeout: Duration,
    /// On shutdown, how long in-flight requests get to finish before their connections are dropped.
    pub shutdown_grace: Duration,
}

/// Connection counts of a server run by [`serve_connections`].
#[derive(Default)]
pub struct Connections {
    /// Connections accepted since the server started.
    pub accepted: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
}

/// The HTTP/1.1 accept loop shared by the log and the witness: at most `limits.max_connections`
/// connections (at the cap the server stops accepting, so the kernel backlog, not our memory, absorbs
/// the excess), a header read timeout that also closes idle keep-alive connections, a bounded request
/// head, a write timeout on every connection, and a graceful stop: when `shutdown` resolves it stops
/// accepting, runs `on_stop`, lets requests in flight finish (at most `limits.shutdown_grace`) and
/// returns.
pub async fn serve_connections<H, Fut>(
    listener: TcpListener,
    limits: &Limits,
    counts: Arc<Connections>,
    shutdown: impl Future<Output = &'static str>,
    on_stop: impl Future<Output = ()>,
    handler: Arc<H>,
) where
    H: Fn(Request<Incoming>, SocketAddr) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Answer> + Send + 'static,
{
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(64)
        .keep_alive(true);
    let http = Arc::new(http);

    tokio::pin!(shutdown);
    let why = loop {
        // Take a permit before accepting: at the cap, connections wait in the kernel's backlog.
        let permit = tokio::select! {
            why = &mut shutdown => break why,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break "semaphore closed",
            },
        };
        let (stream, peer) = tokio::select! {
            why = &mut shutdown => break why,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: say so and back off instead of spinning.
                    event(Level::Error, "accept failed", &[("error", &e)]);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (http, counts, handler) = (http.clone(), counts.clone(), handler.clone());
        let write_timeout = limits.write_timeout;
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            counts.accepted.fetch_add(1, Relaxed);
            counts.open.fetch_add(1, Relaxed);
            let io = TokioIo::new(TimedIo::new(stream, write_timeout));
            let svc = service_fn(move |req| {
                let answer = handler(req, peer);
                async move { Ok::<_, Infallible>(answer.await) }
            });
            let conn = http.serve_connection(io, svc);
            tokio::pin!(conn);
            let stopping = tokio::select! {
                _ = conn.as_mut() => None,
                // `wait_for` also sees a stop signalled before this connection started.
                r = stop.wait_for(|s| *s) => Some(r.is_ok()),
            };
            if let Some(stop) = stopping {
                if stop {
                    // Finish the request in flight (if any), then close.
                    conn.as_mut().graceful_shutdown();
                }
                let _ = conn.await;
            }
            counts.open.fetch_sub(1, Relaxed);
            drop(permit);
        });
    };
    drop(listener);
    event(
        Level::Info,
        "shutting down",
        &[
            ("signal", &why),
            ("open_connections", &counts.open.load(Relaxed)),
        ],
    );
    on_stop.await;
    let _ = stop_tx.send(true);
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(limits.shutdown_grace, permits.acquire_many(all)).await;
    if drained.is_err() {
        event(
            Level::Warn,
            "connections still open after the shutdown grace period; dropping them",
            &[("open_connections", &counts.open.load(Relaxed))],
        );
    }
}

/// Resolves with the signal's name on SIGTERM or SIGINT. Installing the handlers can fail (no signal
/// driver); the caller reports that before it starts serving.
pub fn shutdown_signals() -> io::Result<impl Future<Output = &'static str>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    })
}
