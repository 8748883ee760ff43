//! The log's HTTP server (`rget log serve`): the tlog-tiles read API from `DIR/public`, `POST /add`,
//! `GET /lookup` and `GET /metrics`, on hyper 1 (HTTP/1.1) over a tokio runtime. The sequencer runs
//! on its own OS thread; handlers only talk to it through its [`Handle`].
//!
//! Routes (prefix `/`):
//! - `GET|HEAD /checkpoint`: the published checkpoint note, `Cache-Control: no-cache`.
//! - `GET|HEAD /tile/<L>/<N>[.p/<W>]`, `/tile/entries/<N>[.p/<W>]`: a tile, only if the published
//!   checkpoint covers it, with an immutable cache lifetime.
//! - `POST /add?url=<percent-encoded https URL>` with the `SHA256SUMS` as body: a
//!   `c2sp.org/tlog-proof@v1` once a checkpoint covering the record is durable and published.
//! - `GET|HEAD /lookup?url=<percent-encoded URL>`: `<index> <sha256>` lines, oldest first.
//! - `GET|HEAD /metrics`: Prometheus text format.
//!
//! Anything else is 404; a known path with another method is 405 with `Allow`. Every error body is one
//! line ending in `\n`.
//!
//! Limits: request head size (`MAX_HEAD_BYTES`), header read timeout (also closes idle keep-alive
//! connections), body size and body read timeout, a write timeout (a client that stops reading cannot
//! pin a connection), and a cap on concurrent connections (at the cap the server stops accepting, so
//! the kernel backlog, not our memory, absorbs the excess).

use super::dir::LogDir;
use super::index::format_lookup;
use super::metrics::Reject;
use super::sequencer::{Handle, SubmitError};
pub use crate::serve::logfmt::{Level, event};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use rget_core::merkle::leaf_hash;
pub use rget_core::percent::percent_decode;
use rget_core::record::{self, RecordError};
use rget_core::tile::Tile;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// Largest request head (request line and headers) hyper buffers. hyper refuses less than 8 KiB;
/// a log request needs well under 8 KiB (a 2 KiB URL, percent-encoded, plus a few headers).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How much of an over-limit body is still read (and discarded) before answering 413. Closing a
/// socket with unread data makes the kernel send a reset, which can destroy the 413 before the
/// client reads it; a bounded drain lets ordinary clients see the answer without letting a hostile
/// one make us read forever.
const DRAIN_BYTES: usize = 256 * 1024;

/// Server limits. Every one bounds what a client can make the server hold.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Concurrent connections; at the cap the server stops accepting.
    pub max_connections: usize,
    /// Largest accepted `POST /add` body.
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

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            max_body: record::MAX_RECORD,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

// ---- query strings --------------------------------------------------------------------------------

/// The one `url` parameter of a query string, decoded. Other parameters, or `url` twice, are refused:
/// a request that means something we do not understand gets an error, not a partial reading.
pub fn url_param(query: Option<&str>) -> Result<String, String> {
    let mut url = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k != "url" {
            return Err(format!(
                "unknown query parameter {:?} (only url is accepted)",
                truncate(k, 40)
            ));
        }
        if url.is_some() {
            return Err("the url query parameter is given more than once".into());
        }
        url = Some(percent_decode(v).map_err(|e| format!("url query parameter: {e}"))?);
    }
    match url {
        Some(u) if !u.is_empty() => Ok(u),
        _ => Err("missing url query parameter (expected ?url=<percent-encoded https URL>)".into()),
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

// ---- the server -----------------------------------------------------------------------------------

/// HTTP-level counters, rendered after the sequencer's in `/metrics`.
#[derive(Default)]
struct HttpStats {
    conns: Arc<Connections>,
    /// Responses by status class: 1xx..5xx.
    responses: [AtomicU64; 5],
}

impl HttpStats {
    fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP rget_http_connections_total Connections accepted.\n# TYPE rget_http_connections_total counter\nrget_http_connections_total {}",
            self.conns.accepted.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP rget_http_connections_open Connections open now.\n# TYPE rget_http_connections_open gauge\nrget_http_connections_open {}",
            self.conns.open.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP rget_http_responses_total Responses sent, by status class.\n# TYPE rget_http_responses_total counter"
        );
        for (i, n) in self.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "rget_http_responses_total{{code=\"{}xx\"}} {}",
                i + 1,
                n.load(Relaxed)
            );
        }
    }
}

struct State {
    handle: Handle,
    dir: LogDir,
    limits: Limits,
    stats: HttpStats,
}

/// Serves the log on `listener` until `shutdown` resolves (with the name of what asked, e.g.
/// `SIGTERM`), then shuts down gracefully: stops accepting, tells the sequencer to finish what is
/// queued and stop, lets in-flight requests get their answers (at most `limits.shutdown_grace`), and
/// returns. The caller joins the sequencer thread.
pub async fn serve(
    listener: TcpListener,
    handle: Handle,
    dir: LogDir,
    limits: Limits,
    shutdown: impl Future<Output = &'static str>,
) {
    let state = Arc::new(State {
        handle,
        dir,
        limits: limits.clone(),
        stats: HttpStats::default(),
    });
    let st = state.clone();
    let handler = Arc::new(move |req: Request<Incoming>, peer: SocketAddr| {
        let st = st.clone();
        async move { route(req, &st, peer).await }
    });
    // The sequencer finishes its batch and what is queued, so in-flight submissions get proofs.
    // `shutdown` may block while the queue is full; keep it off the async workers.
    let h = state.handle.clone();
    let on_stop = async move {
        let _ = tokio::task::spawn_blocking(move || h.shutdown()).await;
    };
    serve_connections(
        listener,
        &limits,
        state.stats.conns.clone(),
        shutdown,
        on_stop,
        handler,
    )
    .await;
}

/// Connection counts of a server run by [`serve_connections`].
#[derive(Default)]
pub(crate) struct Connections {
    pub accepted: AtomicU64,
    pub open: AtomicU64,
}

/// The HTTP/1.1 accept loop shared by the log and the witness: at most `limits.max_connections`
/// connections (at the cap the server stops accepting, so the kernel backlog, not our memory, absorbs
/// the excess), a header read timeout that also closes idle keep-alive connections, a bounded request
/// head, a write timeout on every connection, and a graceful stop: when `shutdown` resolves it stops
/// accepting, runs `on_stop`, lets requests in flight finish (at most `limits.shutdown_grace`) and
/// returns.
pub(crate) async fn serve_connections<H, Fut>(
    listener: TcpListener,
    limits: &Limits,
    counts: Arc<Connections>,
    shutdown: impl Future<Output = &'static str>,
    on_stop: impl Future<Output = ()>,
    handler: Arc<H>,
) where
    H: Fn(Request<Incoming>, SocketAddr) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
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

/// A response with a one-line text body (an error or a short answer).
pub(crate) fn line(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut body = text.replace('\n', "\\n").replace('\r', "\\r");
    body.push('\n');
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    set(&mut r, header::CONTENT_TYPE, "text/plain; charset=utf-8");
    set(&mut r, header::CACHE_CONTROL, "no-store");
    r
}

pub(crate) fn set(r: &mut Response<Full<Bytes>>, name: header::HeaderName, value: &'static str) {
    r.headers_mut()
        .insert(name, HeaderValue::from_static(value));
}

pub(crate) fn ok(
    body: impl Into<Bytes>,
    content_type: &'static str,
    cache: &'static str,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    set(&mut r, header::CONTENT_TYPE, content_type);
    set(&mut r, header::CACHE_CONTROL, cache);
    r
}

pub(crate) fn method_not_allowed(allow: &'static str) -> Response<Full<Bytes>> {
    let mut r = line(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed (allowed: {allow})"),
    );
    set(&mut r, header::ALLOW, allow);
    r
}

const TEXT: &str = "text/plain; charset=utf-8";
const NO_CACHE: &str = "no-cache";

async fn route(req: Request<Incoming>, st: &State, peer: SocketAddr) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let read = matches!(*req.method(), Method::GET | Method::HEAD);
    let resp = match path.as_str() {
        "/checkpoint" if read => ok(st.handle.checkpoint(), TEXT, NO_CACHE),
        "/lookup" if read => lookup(req.uri().query(), st),
        "/metrics" if read => {
            let mut text = st.handle.metrics().render();
            st.stats.render(&mut text);
            ok(text, "text/plain; version=0.0.4", "no-store")
        }
        "/add" if *req.method() == Method::POST => add(req, st, peer).await,
        "/checkpoint" | "/lookup" | "/metrics" => method_not_allowed("GET, HEAD"),
        "/add" => method_not_allowed("POST"),
        p => match p.strip_prefix('/').map(Tile::parse_path) {
            Some(Ok(t)) if read => tile(&t, st).await,
            Some(Ok(_)) => method_not_allowed("GET, HEAD"),
            _ => line(StatusCode::NOT_FOUND, "not found"),
        },
    };
    let class = usize::from(resp.status().as_u16() / 100).saturating_sub(1);
    if let Some(c) = st.stats.responses.get(class) {
        c.fetch_add(1, Relaxed);
    }
    resp
}

/// Serves a tile covered by the published checkpoint. The file path is rebuilt from the parsed tile
/// (`LogDir::tile`), never taken from the request, so no request can name a file outside the tiles.
async fn tile(t: &Tile, st: &State) -> Response<Full<Bytes>> {
    if !t.is_covered_by(st.handle.published_size()) {
        return line(
            StatusCode::NOT_FOUND,
            "not found (not covered by the checkpoint)",
        );
    }
    let path = st.dir.tile(t);
    // Blocking file I/O goes to tokio's blocking pool (the `fs` feature would do the same).
    let read = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || std::fs::read(path)).await
    };
    let read = read.unwrap_or_else(|e| Err(io::Error::other(e.to_string())));
    match read {
        Ok(bytes) => ok(
            bytes,
            "application/octet-stream",
            "public, max-age=31536000, immutable",
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => line(StatusCode::NOT_FOUND, "not found"),
        Err(e) => {
            event(
                Level::Error,
                "cannot read tile",
                &[("path", &path.display()), ("error", &e)],
            );
            line(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the tile")
        }
    }
}

fn lookup(query: Option<&str>, st: &State) -> Response<Full<Bytes>> {
    let url = match url_param(query) {
        Ok(u) => u,
        Err(e) => return line(StatusCode::BAD_REQUEST, &e),
    };
    match record::canonical_url(&url) {
        Ok(url) => ok(format_lookup(&st.handle.lookup(&url)), TEXT, NO_CACHE),
        Err(e) => line(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// Why a body could not be read.
pub(crate) enum BodyError {
    TooLarge,
    Timeout,
    Read(hyper::Error),
}

/// Reads at most `max` body bytes within `timeout`. An over-limit body is drained (discarded) up to
/// [`DRAIN_BYTES`] more, for the reason given there; a declared length beyond that is refused without
/// reading anything.
pub(crate) async fn read_body(
    req: Request<Incoming>,
    max: usize,
    timeout: Duration,
) -> Result<Vec<u8>, BodyError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > (max.saturating_add(DRAIN_BYTES)) as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = req.into_body();
    let read = async {
        let mut out = Vec::new();
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(BodyError::Read)?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            seen = seen.saturating_add(data.len());
            if seen <= max {
                out.extend_from_slice(&data);
            } else {
                out = Vec::new(); // over the limit: keep nothing, only drain
                if seen > max.saturating_add(DRAIN_BYTES) {
                    break;
                }
            }
        }
        if seen > max {
            Err(BodyError::TooLarge)
        } else {
            Ok(out)
        }
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or(Err(BodyError::Timeout))
}

/// A refused submission: counted by reason, logged, answered with one line.
fn reject(
    st: &State,
    peer: SocketAddr,
    status: StatusCode,
    why: Reject,
    detail: &str,
) -> Response<Full<Bytes>> {
    st.handle.metrics().reject(why);
    event(
        Level::Warn,
        "submission rejected",
        &[
            ("reason", &why.label()),
            ("status", &status.as_u16()),
            ("peer", &peer),
            ("detail", &detail),
        ],
    );
    line(status, detail)
}

fn record_reject(e: &RecordError) -> (StatusCode, Reject) {
    match e {
        RecordError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, Reject::TooLarge),
        RecordError::Sums(_) => (StatusCode::BAD_REQUEST, Reject::BadSums),
        RecordError::UrlTooLong
        | RecordError::NotHttps(_)
        | RecordError::BadUrl { .. }
        | RecordError::NotCanonical(_) => (StatusCode::BAD_REQUEST, Reject::BadUrl),
        _ => (StatusCode::BAD_REQUEST, Reject::BadRequest),
    }
}

async fn add(req: Request<Incoming>, st: &State, peer: SocketAddr) -> Response<Full<Bytes>> {
    let query = req.uri().query().map(str::to_owned);
    // The body first, even when the URL is bad: answering before reading it would leave it unread,
    // and closing a socket with unread data can reset the connection before the client sees why.
    let body = match read_body(req, st.limits.max_body, st.limits.body_timeout).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            let mut r = reject(
                st,
                peer,
                StatusCode::PAYLOAD_TOO_LARGE,
                Reject::TooLarge,
                &format!(
                    "request body is larger than the limit of {} bytes",
                    st.limits.max_body
                ),
            );
            set(&mut r, header::CONNECTION, "close");
            return r;
        }
        Err(BodyError::Timeout) => {
            let mut r = reject(
                st,
                peer,
                StatusCode::REQUEST_TIMEOUT,
                Reject::BadRequest,
                "request body not received in time",
            );
            set(&mut r, header::CONNECTION, "close");
            return r;
        }
        Err(BodyError::Read(e)) => {
            return reject(
                st,
                peer,
                StatusCode::BAD_REQUEST,
                Reject::BadRequest,
                &format!("cannot read the request body: {e}"),
            );
        }
    };
    let url = match url_param(query.as_deref()) {
        Ok(u) => u,
        Err(e) => return reject(st, peer, StatusCode::BAD_REQUEST, Reject::BadUrl, &e),
    };
    let rec = match record::build(&url, &body) {
        Ok(r) => r,
        Err(e) => {
            let (status, why) = record_reject(&e);
            return reject(st, peer, status, why, &e.to_string());
        }
    };
    // Already published: answer at once with the existing index (idempotent, the log does not grow).
    if let Some(p) = st.handle.existing(&leaf_hash(&rec)) {
        st.handle.metrics().duplicates.fetch_add(1, Relaxed);
        return ok(p.proof, TEXT, "no-store");
    }
    let rx = match st.handle.submit(rec) {
        Ok(rx) => rx,
        Err(SubmitError::QueueFull) => {
            let mut r = reject(
                st,
                peer,
                StatusCode::SERVICE_UNAVAILABLE,
                Reject::QueueFull,
                "the log's queue is full; retry shortly",
            );
            set(&mut r, header::RETRY_AFTER, "1");
            return r;
        }
        Err(e @ SubmitError::Closed) => {
            return reject(
                st,
                peer,
                StatusCode::SERVICE_UNAVAILABLE,
                Reject::Unavailable,
                &e.to_string(),
            );
        }
    };
    match rx.await {
        Ok(Ok(p)) => ok(p.proof, TEXT, "no-store"),
        Ok(Err(e)) => {
            event(Level::Error, "batch failed", &[("error", &e)]);
            reject(
                st,
                peer,
                StatusCode::SERVICE_UNAVAILABLE,
                Reject::Unavailable,
                &e.to_string(),
            )
        }
        Err(_) => reject(
            st,
            peer,
            StatusCode::SERVICE_UNAVAILABLE,
            Reject::Unavailable,
            "the sequencer stopped before answering",
        ),
    }
}

// ---- I/O with a write timeout -----------------------------------------------------------------------

/// A TCP stream whose writes fail once blocked for longer than `timeout`. hyper has read timeouts for
/// headers (and we time bodies), but nothing stops a client that sends a request and never reads the
/// answer: its connection would sit on a full socket buffer forever, holding a connection slot.
pub(crate) struct TimedIo {
    inner: TcpStream,
    timeout: Duration,
    blocked: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl TimedIo {
    pub(crate) fn new(inner: TcpStream, timeout: Duration) -> Self {
        TimedIo {
            inner,
            timeout,
            blocked: None,
        }
    }

    /// Runs a write-side poll, arming the timer while it is pending and failing once it fires.
    fn timed<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match op(Pin::new(&mut self.inner), cx) {
            Poll::Ready(r) => {
                self.blocked = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let timer = self
                    .blocked
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "client did not read the response in time",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.timed(cx, |s, cx| s.poll_write(cx, buf))
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.timed(cx, |s, cx| s.poll_write_vectored(cx, bufs))
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.timed(cx, |s, cx| s.poll_flush(cx))
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.timed(cx, |s, cx| s.poll_shutdown(cx))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_is_strict() {
        assert_eq!(
            percent_decode("https%3A%2F%2Fa.example%2FSHA256SUMS").unwrap(),
            "https://a.example/SHA256SUMS"
        );
        assert_eq!(percent_decode("a+b%2b").unwrap(), "a+b+");
        assert_eq!(percent_decode("%c3%a9").unwrap(), "é");
        for bad in ["%", "%2", "%zz", "%2g", "a%", "%ff", "%c3"] {
            assert!(percent_decode(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn url_parameter() {
        assert_eq!(url_param(Some("url=https%3A%2F%2Fa")).unwrap(), "https://a");
        assert!(url_param(None).is_err());
        assert!(url_param(Some("")).is_err());
        assert!(url_param(Some("url=")).is_err());
        assert!(url_param(Some("url=a&url=b")).is_err());
        assert!(url_param(Some("url=a&x=1")).is_err());
        assert!(url_param(Some("url=%4")).is_err());
    }
}
