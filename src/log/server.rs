//! The log's HTTP server (`rget log serve`): the tlog-tiles read API from `DIR/public`, `POST /add`,
//! `GET /lookup` and `GET /metrics`, on hyper 1 (HTTP/1.1) over a tokio runtime. The sequencer runs
//! on its own OS thread; handlers only talk to it through its [`Handle`].
//!
//! Routes (prefix `/`):
//! - `GET|HEAD /checkpoint`: the published checkpoint note, `Cache-Control: no-cache`.
//! - `GET|HEAD /tile/<L>/<N>[.p/<W>]`, `/tile/entries/<N>[.p/<W>]`: a tile, only if the published
//!   checkpoint covers it, with an immutable cache lifetime.
//! - `POST /add?url=<percent-encoded https URL>` with the `SHA256SUMS` as body: a
//!   `c2sp.org/tlog-proof@v1` once a checkpoint covering the record is durable and published; 429
//!   with `Retry-After` for a client over its rate limit ([`Admission`]).
//! - `GET|HEAD /lookup?url=<percent-encoded URL>`: `<index> <sha256>` lines, oldest first.
//! - `GET|HEAD /metrics`: Prometheus text format.
//!
//! Anything else is 404; a known path with another method is 405 with `Allow`. Every error body is one
//! line ending in `\n`.
//!
//! Limits (connections, request head, header, body and write timeouts, body size) and the accept
//! loop are the serving plumbing the witness shares (`crate::serve`).

use super::dir::LogDir;
use super::index::format_lookup;
use super::metrics::Reject;
use super::sequencer::{Handle, SubmitError};
use super::sigsum_api::{self, SigsumApi};
use crate::serve::body::{BodyError, read_body};
use crate::serve::logfmt::{Level, event};
use crate::serve::rate::{RateLimit, client_address, retry_after_secs};
use crate::serve::response::{line, method_not_allowed, ok, set};
use crate::serve::{Answer, Connections, Limits, serve_connections};
use hyper::body::Incoming;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use rget_core::merkle::leaf_hash;
pub use rget_core::percent::percent_decode;
use rget_core::record::{self, RecordError};
use rget_core::tile::Tile;
use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Largest accepted `POST /add` body by default: the largest record (`record::MAX_RECORD`), whose
/// `SHA256SUMS` is most of it.
pub const DEFAULT_MAX_BODY: usize = record::MAX_RECORD;

/// Submissions a minute one client may make by default, after its burst. A release is one
/// submission; at the most this lets one address add 43,200 records (2.8 GB of the largest ones) a
/// day, where a loop of its own would otherwise add as many as the sequencer can take.
pub const DEFAULT_ADD_RATE: u32 = 30;
/// Submissions one client may make at once by default: a project recording its past releases.
pub const DEFAULT_ADD_BURST: u32 = 60;

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

/// Who may submit how often: every accepted record costs disk for good, so one client must not be
/// able to take the log's whole capacity (`rget log serve --add-rate`, `--add-burst`,
/// `--client-address-header`).
#[derive(Default)]
pub struct Admission {
    /// The per-client limit on `POST /add`, if any.
    pub rate: Option<RateLimit>,
    /// Behind a reverse proxy: the header in which it names the client.
    pub client_header: Option<HeaderName>,
}

pub(super) struct State {
    pub(super) handle: Handle,
    pub(super) dir: LogDir,
    pub(super) limits: Limits,
    /// Longest a submission waits for a published checkpoint covering it before it is answered 503
    /// with the reason (`rget log serve --answer-timeout`).
    answer_timeout: Duration,
    pub(super) admission: Admission,
    stats: HttpStats,
    /// The Sigsum API, for a Sigsum log (whose entries are Sigsum leaves, never records).
    sigsum: Option<SigsumApi>,
}

/// The default of `--answer-timeout`: well inside a client's read timeout (rget's is 60 s), so a
/// submitter hears why the log is not answering instead of a connection that just ends.
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// How `rget log serve` runs its HTTP side, besides the log it serves.
pub struct Options {
    /// Connection, header, body and time limits.
    pub limits: Limits,
    /// Longest a submission waits for a published checkpoint covering it before it is answered 503
    /// with the reason (`--answer-timeout`).
    pub answer_timeout: Duration,
    /// The Sigsum v1 API, for a Sigsum log (`rget log init --sigsum`).
    pub sigsum: Option<SigsumApi>,
    /// Per-client rate limits on submissions.
    pub admission: Admission,
}

/// Serves the log on `listener` until `shutdown` resolves (with the name of what asked, e.g.
/// `SIGTERM`), then shuts down gracefully: stops accepting, tells the sequencer to finish what is
/// queued and stop, lets in-flight requests get their answers (at most `limits.shutdown_grace`), and
/// returns. The caller joins the sequencer thread.
pub async fn serve(
    listener: TcpListener,
    handle: Handle,
    dir: LogDir,
    options: Options,
    shutdown: impl Future<Output = &'static str>,
) {
    let Options {
        limits,
        answer_timeout,
        sigsum,
        admission,
    } = options;
    let state = Arc::new(State {
        handle,
        dir,
        limits: limits.clone(),
        answer_timeout,
        admission,
        stats: HttpStats::default(),
        sigsum,
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

const TEXT: &str = "text/plain; charset=utf-8";
const NO_CACHE: &str = "no-cache";

async fn route(req: Request<Incoming>, st: &State, peer: SocketAddr) -> Answer {
    let path = req.uri().path().to_owned();
    let read = matches!(*req.method(), Method::GET | Method::HEAD);
    let resp = match &st.sigsum {
        // A Sigsum log records Sigsum leaves only: rget's records have no door into it.
        Some(_) if matches!(path.as_str(), "/add" | "/lookup") => line(
            StatusCode::NOT_FOUND,
            "not found: a Sigsum log (submit with POST /add-leaf)",
        ),
        Some(api) if sigsum_api::handles(&path) => {
            sigsum_api::route(req, &path, api, st, peer).await
        }
        _ => rget_route(req, &path, read, st, peer).await,
    };
    let class = usize::from(resp.status().as_u16() / 100).saturating_sub(1);
    if let Some(c) = st.stats.responses.get(class) {
        c.fetch_add(1, Relaxed);
    }
    resp
}

/// The routes of an rget log (and the read routes every log has).
async fn rget_route(
    req: Request<Incoming>,
    path: &str,
    read: bool,
    st: &State,
    peer: SocketAddr,
) -> Answer {
    match path {
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
    }
}

/// Serves a tile covered by the published checkpoint. The file path is rebuilt from the parsed tile
/// (`LogDir::tile`), never taken from the request, so no request can name a file outside the tiles.
async fn tile(t: &Tile, st: &State) -> Answer {
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

fn lookup(query: Option<&str>, st: &State) -> Answer {
    let url = match url_param(query) {
        Ok(u) => u,
        Err(e) => return line(StatusCode::BAD_REQUEST, &e),
    };
    match record::canonical_url(&url) {
        Ok(url) => ok(format_lookup(&st.handle.lookup(&url)), TEXT, NO_CACHE),
        Err(e) => line(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// A refused submission: counted by reason, logged, answered with one line.
/// The body of a submission (at most `max` bytes, within the body timeout), or the rejection to
/// answer with: counted and logged like every rejection, and closing the connection where what is
/// left of the body cannot be read.
pub(super) async fn submitted_body(
    st: &State,
    peer: SocketAddr,
    req: Request<Incoming>,
    max: usize,
) -> Result<Vec<u8>, Answer> {
    read_body(req, max, st.limits.body_timeout)
        .await
        .map_err(|e| {
            let why = match e {
                BodyError::TooLarge { .. } => Reject::TooLarge,
                BodyError::Timeout | BodyError::Read(_) => Reject::BadRequest,
            };
            let mut r = reject(st, peer, e.status(), why, &e.to_string());
            if e.closes_connection() {
                set(&mut r, header::CONNECTION, "close");
            }
            r
        })
}

pub(super) fn reject(
    st: &State,
    peer: SocketAddr,
    status: StatusCode,
    why: Reject,
    detail: &str,
) -> Answer {
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

/// The answer to a submission from `client` over its rate limit (429 with `Retry-After`), if it is:
/// shared by `POST /add` and a Sigsum log's `add-leaf`, since each new entry costs disk for good.
pub(super) fn over_rate(st: &State, peer: SocketAddr, client: IpAddr) -> Option<Answer> {
    let limit = st.admission.rate.as_ref()?;
    let wait = limit.take(client, Instant::now()).err()?;
    let secs = retry_after_secs(wait);
    let mut r = reject(
        st,
        peer,
        StatusCode::TOO_MANY_REQUESTS,
        Reject::RateLimited,
        &format!("too many submissions from {client}; retry after {secs} s"),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Some(r)
}

async fn add(req: Request<Incoming>, st: &State, peer: SocketAddr) -> Answer {
    let query = req.uri().query().map(str::to_owned);
    let client = client_address(
        req.headers(),
        peer.ip(),
        st.admission.client_header.as_ref(),
    );
    // The body first, even when the URL is bad: answering before reading it would leave it unread,
    // and closing a socket with unread data can reset the connection before the client sees why.
    let body = match submitted_body(st, peer, req, st.limits.max_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let client = match client {
        Ok(c) => c,
        Err(e) => return reject(st, peer, StatusCode::BAD_REQUEST, Reject::BadRequest, &e),
    };
    if let Some(r) = over_rate(st, peer, client) {
        return r;
    }
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
    // The record is durable (or about to be) whatever happens to this answer; a submitter kept
    // waiting past the answer timeout is told why, and gets the proof by submitting again later.
    let answer = match tokio::time::timeout(st.answer_timeout, rx).await {
        Ok(a) => a,
        Err(_) => {
            let why = st.handle.unpublished_why().unwrap_or_else(|| {
                format!(
                    "no checkpoint covering the record was published within {} ms",
                    st.answer_timeout.as_millis()
                )
            });
            let detail = format!(
                "{why}; the log keeps the record and publishes it with its next checkpoint: \
                 submit it again later for its proof"
            );
            let mut r = reject(
                st,
                peer,
                StatusCode::SERVICE_UNAVAILABLE,
                Reject::NotPublished,
                &detail,
            );
            set(&mut r, header::RETRY_AFTER, "10");
            return r;
        }
    };
    match answer {
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
