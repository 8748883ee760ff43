//! [`Config`] and [`Client`]: one ureq agent with rustls (ring, pinned), webpki-roots plus extra
//! roots, timeouts, our own redirect policy, proxies chosen per URL, and retries with backoff.

use super::deadline::Deadline;
use super::error::FetchError;
use super::proxy::ProxyConfig;
use super::roots;
use super::url::Url;
use rget_core::digest::STREAM_BUFFER;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use ureq::tls::{RootCerts, TlsConfig, TlsProvider};

/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// How the client behaves. [`Config::default`] reads nothing from the environment;
/// [`Config::from_env`] is what the CLI and the bootstrap start from.
#[derive(Debug, Clone)]
pub struct Config {
    /// PEM files whose certificates are trusted **in addition to** webpki-roots (`--cacert`, and
    /// `SSL_CERT_FILE` via [`Config::from_env`]).
    pub ca_files: Vec<PathBuf>,
    /// Allow plain `http://` URLs (never a redirect from https to http). Callers must say that the
    /// transport was not authenticated. Default: false.
    pub allow_http: bool,
    /// Time to resolve, connect and finish the TLS handshake. Default: 20 s.
    pub connect_timeout: Duration,
    /// Longest wait for any single read (or write) on the connection. Default: 60 s.
    pub read_timeout: Duration,
    /// Redirects followed per request. Default: 5.
    pub max_redirects: u32,
    /// Attempts for a GET that failed in transit (1 = no retry). Default: 3.
    pub attempts: u32,
    /// Pause before the first retry, doubled for each further one, at most 4 s. Default: 250 ms.
    pub retry_backoff: Duration,
    /// Proxies. Default: none.
    pub proxy: ProxyConfig,
    /// `User-Agent`. Default: `rget/<version>`.
    pub user_agent: String,
    /// The end of the whole command (`--max-time`): no connect, read, attempt or pause goes past
    /// it. Default: none (only the per-read and connect timeouts bound a request).
    pub deadline: Option<Deadline>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ca_files: Vec::new(),
            allow_http: false,
            connect_timeout: Duration::from_secs(20),
            read_timeout: Duration::from_secs(60),
            max_redirects: 5,
            attempts: 3,
            retry_backoff: Duration::from_millis(250),
            proxy: ProxyConfig::default(),
            user_agent: concat!("rget/", env!("CARGO_PKG_VERSION")).to_owned(),
            deadline: None,
        }
    }
}

impl Config {
    /// The defaults, plus `SSL_CERT_FILE` (if set and not empty) as an extra CA file and the
    /// proxies of `HTTPS_PROXY`/`http_proxy`/`ALL_PROXY`/`NO_PROXY` (see [`ProxyConfig`]).
    pub fn from_env() -> Config {
        let mut c = Config::default();
        if let Some(f) = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
            c.ca_files.push(PathBuf::from(f));
        }
        c.proxy = ProxyConfig::from_env();
        c
    }
}

/// A body fetched whole (for small files: sums, signatures, proofs, checkpoints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The whole body, at most the limit the caller gave.
    pub bytes: Vec<u8>,
    /// The URL that answered, after redirects.
    pub final_url: String,
    /// The 2xx status it answered with (a Sigsum log's `add-leaf` tells 202 from 200).
    pub status: u16,
}

/// The HTTP(S) client. Cheap to share by reference, or to clone for another thread (a clone shares
/// the connection pool); connections are pooled.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    config: Config,
}

/// A request method with its body (and, for a POST, at most one extra header).
#[derive(Clone, Copy)]
pub(crate) enum Method<'a> {
    Get,
    Post(&'a [u8], Option<(&'a str, &'a str)>),
}

/// When a failure happened, which decides whether a retry is safe and useful.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Before anything was sent (DNS, connect, proxy): safe to retry any method.
    BeforeSend,
    /// After the request may have been sent (reset, timeout, truncated body, 502/503/504).
    InTransit,
    /// Retrying cannot help (4xx, certificates, limits, policy).
    Final,
}

/// A failed attempt.
pub(crate) struct Failure {
    pub error: FetchError,
    pub stage: Stage,
}

impl Failure {
    pub fn final_(error: FetchError) -> Failure {
        Failure {
            error,
            stage: Stage::Final,
        }
    }
}

impl From<FetchError> for Failure {
    fn from(error: FetchError) -> Failure {
        Failure::final_(error)
    }
}

/// A 2xx response whose body has not been read.
pub(crate) struct Open {
    pub status: u16,
    pub final_url: Url,
    pub body: ureq::Body,
    pub declared: Option<u64>,
}

impl Client {
    /// Builds the client: loads the CA files (an unreadable or unparsable one is an error naming
    /// it) and configures the agent.
    pub fn new(config: Config) -> Result<Client, FetchError> {
        let roots = roots::load(&config.ca_files)?;
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::new_with_certs(&roots))
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .max_redirects(0) // followed by `open`, which knows our policy
            .max_redirects_will_error(false)
            .proxy(None) // chosen per URL by `open`
            .user_agent(config.user_agent.as_str())
            .accept_encoding(ureq::config::AutoHeaderValue::None) // identity: hash what is served
            .timeout_connect(Some(config.connect_timeout))
            .timeout_per_read(Some(config.read_timeout))
            .timeout_per_write(Some(config.read_timeout))
            .build()
            .new_agent();
        Ok(Client { agent, config })
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// GETs a small body whole: at most `limit` bytes (one more byte is a [`Kind::TooLarge`]
    /// error, and nothing more is read).
    ///
    /// [`Kind::TooLarge`]: super::Kind::TooLarge
    pub fn get_bytes(&self, url: &str, limit: u64) -> Result<Fetched, FetchError> {
        self.fetch_whole(url, Method::Get, limit)
    }

    /// POSTs `body` and reads the answer whole (at most `limit` bytes). Retried only when the
    /// connection could not be made, i.e. the request was certainly not sent. Redirects are not
    /// followed.
    pub fn post_bytes(&self, url: &str, body: &[u8], limit: u64) -> Result<Fetched, FetchError> {
        self.fetch_whole(url, Method::Post(body, None), limit)
    }

    /// [`Client::post_bytes`] with one extra request header `(name, value)` (a Sigsum log's
    /// `Sigsum-Token`).
    pub fn post_bytes_with(
        &self,
        url: &str,
        body: &[u8],
        header: Option<(&str, &str)>,
        limit: u64,
    ) -> Result<Fetched, FetchError> {
        self.fetch_whole(url, Method::Post(body, header), limit)
    }

    /// One request whose answer is read whole, at most `limit` bytes, with the retries `method`
    /// allows.
    fn fetch_whole(
        &self,
        url: &str,
        method: Method<'_>,
        limit: u64,
    ) -> Result<Fetched, FetchError> {
        let start = Url::parse(url)?;
        self.with_retries(&start, method, || {
            let mut open = self.open(&start, method)?;
            let mut bytes = Vec::new();
            read_body(&mut open, limit, |chunk| {
                bytes.extend_from_slice(chunk);
                Ok(())
            })?;
            Ok(Fetched {
                bytes,
                final_url: open.final_url.as_string(),
                status: open.status,
            })
        })
    }

    /// Runs `attempt` (a request to `url`) up to `config.attempts` times with exponential backoff
    /// while it fails in a way worth retrying: for a GET, any failure in transit; for a POST, only a
    /// failure before the request was sent. With a deadline, no attempt starts after it and no
    /// pause runs into it: the error then names the deadline and what was under way.
    pub(crate) fn with_retries<T>(
        &self,
        url: &Url,
        method: Method<'_>,
        mut attempt: impl FnMut() -> Result<T, Failure>,
    ) -> Result<T, FetchError> {
        let attempts = self.config.attempts.max(1);
        let mut pause = self.config.retry_backoff;
        let mut n = 0;
        loop {
            if let Some(d) = self.config.deadline.filter(Deadline::expired) {
                return Err(FetchError::deadline(&d, format!("{url}: not requested")));
            }
            n += 1;
            match attempt() {
                Ok(t) => return Ok(t),
                Err(f) => {
                    let retry = match (method, f.stage) {
                        (_, Stage::Final) => false,
                        (Method::Get, _) => true,
                        (Method::Post(..), s) => s == Stage::BeforeSend,
                    };
                    let again = retry && n < attempts;
                    // A failure in transit once the time is up (a timeout cut at the deadline), or
                    // one that would be retried but the pause would not end in time, is reported
                    // as the deadline's; a final failure (a status, a certificate) stands as it is.
                    if let Some(d) = self.config.deadline
                        && f.stage != Stage::Final
                        && (d.expired() || (again && d.remaining() <= pause))
                    {
                        return Err(FetchError::deadline(&d, f.error.to_string()));
                    }
                    if !again {
                        return Err(f.error);
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Sends one request and follows redirects (GET only) until a 2xx answer, under the policy:
    /// https only unless `allow_http`, never from https to http, at most `max_redirects`.
    pub(crate) fn open(&self, start: &Url, method: Method<'_>) -> Result<Open, Failure> {
        let mut url = start.clone();
        let mut redirects = 0u32;
        loop {
            if !url.is_https() && !self.config.allow_http {
                return Err(FetchError::Insecure {
                    url: url.as_string(),
                    reason: "plain http is refused (the transport would not be authenticated); \
                             pass --allow-http to allow it"
                        .into(),
                }
                .into());
            }
            let proxy = self.config.proxy.ureq_proxy(&url)?;
            let s = url.as_string();
            // ureq's global timeout covers the connect, every read and the whole body, so the
            // time left bounds a server that trickles as well as one that stalls.
            let left = self.config.deadline.map(|d| d.remaining());
            let result = match method {
                Method::Get => self
                    .agent
                    .get(&s)
                    .config()
                    .proxy(proxy)
                    .timeout_global(left)
                    .build()
                    .call(),
                Method::Post(body, header) => {
                    let mut req = self.agent.post(&s);
                    if let Some((name, value)) = header {
                        req = req.header(name, value);
                    }
                    req.config()
                        .proxy(proxy)
                        .timeout_global(left)
                        .build()
                        .send(body)
                }
            };
            let mut resp = result.map_err(|e| map_ureq(&url, e))?;
            let status = resp.status().as_u16();
            match status {
                200..=299 => {
                    let declared = resp.body().content_length();
                    return Ok(Open {
                        status,
                        final_url: url,
                        body: resp.into_body(),
                        declared,
                    });
                }
                301 | 302 | 303 | 307 | 308 => {
                    let location = resp
                        .headers()
                        .get("location")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let Some(location) = location else {
                        return Err(http_error(&url, status, "redirect without a Location").into());
                    };
                    if let Method::Post(..) = method {
                        return Err(http_error(
                            &url,
                            status,
                            &format!("redirect to {location:?} not followed for a POST"),
                        )
                        .into());
                    }
                    let next = url.join(&location)?;
                    if url.is_https() && !next.is_https() {
                        return Err(FetchError::Insecure {
                            url: url.as_string(),
                            reason: format!("redirect from https to http ({next}) refused"),
                        }
                        .into());
                    }
                    redirects += 1;
                    if redirects > self.config.max_redirects {
                        return Err(FetchError::TooManyRedirects {
                            url: start.as_string(),
                            max: self.config.max_redirects,
                        }
                        .into());
                    }
                    url = next;
                }
                404 | 410 => {
                    return Err(FetchError::NotFound {
                        url: url.as_string(),
                        status,
                    }
                    .into());
                }
                _ => {
                    let detail = error_detail(resp.body_mut());
                    let stage = if matches!(status, 502..=504) {
                        Stage::InTransit
                    } else {
                        Stage::Final
                    };
                    return Err(Failure {
                        error: http_error(&url, status, &detail),
                        stage,
                    });
                }
            }
        }
    }
}

fn http_error(url: &Url, status: u16, detail: &str) -> FetchError {
    FetchError::Http {
        url: url.as_string(),
        status,
        detail: detail.to_owned(),
    }
}

/// The first line of an error body (at most 800 printable characters): the log server's errors
/// are one line that says what was wrong (a 503 names every witness that failed and why, so it is
/// given room for a few).
fn error_detail(body: &mut ureq::Body) -> String {
    let mut buf = Vec::new();
    let _ = body.as_reader().take(2048).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(800)
        .collect()
}

/// How long a chunk of a body may wait for more bytes before it is handed on anyway.
const FILL_FOR: Duration = Duration::from_millis(100);

/// Reads the body of `open`, handing every chunk to `sink`, checking it against `limit` (reading
/// at most `limit + 1` bytes) and against the declared `Content-Length`. Returns the length.
pub(crate) fn read_body(
    open: &mut Open,
    limit: u64,
    mut sink: impl FnMut(&[u8]) -> Result<(), FetchError>,
) -> Result<u64, Failure> {
    read_body_into(open, limit, |buf, n| sink(&buf[..n]))
}

/// [`read_body`], handing `sink` the whole buffer with the chunk in its first `n` bytes. The sink
/// may swap in another buffer of the same length, to pass the chunk on to another thread uncopied.
///
/// A chunk is handed on when it fills the buffer (`STREAM_BUFFER`), at the end of the body, or when
/// it has been filling for `FILL_FOR` (so a slow body still reports progress). The body reader
/// yields one TLS record (at most 16 KiB) per read, and handing on every record cost a write system
/// call each (65,536 per GiB).
pub(crate) fn read_body_into(
    open: &mut Open,
    limit: u64,
    mut sink: impl FnMut(&mut Vec<u8>, usize) -> Result<(), FetchError>,
) -> Result<u64, Failure> {
    let url = &open.final_url;
    let too_large = |declared| {
        Failure::final_(FetchError::TooLarge {
            url: url.as_string(),
            limit,
            declared,
        })
    };
    if open.declared.is_some_and(|d| d > limit) {
        return Err(too_large(open.declared));
    }
    let cut_short = |got: u64, why: &str| Failure {
        error: FetchError::network(
            &url.as_string(),
            match open.declared {
                Some(m) => format!("body cut short after {got} of {m} bytes: {why}"),
                None => format!("body cut short after {got} bytes: {why}"),
            },
        ),
        stage: Stage::InTransit,
    };
    let cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    let mut buf = vec![0u8; STREAM_BUFFER.min(cap)];
    let mut reader = open.body.as_reader();
    let mut total = 0u64;
    let mut end = false;
    while !end {
        let room = limit.saturating_add(1) - total;
        let want = usize::try_from(room).map_or(buf.len(), |r| r.min(buf.len()));
        let mut n = 0;
        let filling = std::time::Instant::now();
        while n < want {
            match reader.read(&mut buf[n..want]) {
                Ok(0) => {
                    end = true;
                    break;
                }
                Ok(k) => {
                    n += k;
                    if filling.elapsed() >= FILL_FOR {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let got = total + n as u64;
                    return Err(cut_short(got, &describe(&ureq::Error::from(e))));
                }
            }
        }
        if n > 0 {
            total += n as u64;
            if total > limit {
                return Err(too_large(None));
            }
            sink(&mut buf, n).map_err(Failure::final_)?;
        }
    }
    if let Some(m) = open.declared
        && total < m
    {
        return Err(cut_short(total, "connection closed"));
    }
    Ok(total)
}

/// Maps a ureq error on sending a request or receiving its head.
fn map_ureq(url: &Url, e: ureq::Error) -> Failure {
    let u = url.as_string();
    let stage = match &e {
        ureq::Error::BadUri(_) | ureq::Error::InvalidProxyUrl => Stage::Final,
        _ if tls_error(&e).is_some() => Stage::Final,
        ureq::Error::HostNotFound | ureq::Error::ConnectProxyFailed(_) => Stage::BeforeSend,
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => Stage::BeforeSend,
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::AddrNotAvailable
            ) =>
        {
            Stage::BeforeSend
        }
        _ => Stage::InTransit,
    };
    let error = match &e {
        ureq::Error::BadUri(r) => FetchError::bad_url(&u, r.clone()),
        ureq::Error::InvalidProxyUrl => FetchError::Config {
            what: "proxy".into(),
            reason: "invalid proxy URL".into(),
        },
        ureq::Error::LargeResponseHeader(..) => FetchError::BadResponse {
            url: u,
            reason: describe(&e),
        },
        _ => FetchError::network(&u, describe(&e)),
    };
    Failure { error, stage }
}

/// The rustls error inside a ureq error, if it is one.
fn tls_error(e: &ureq::Error) -> Option<String> {
    match e {
        ureq::Error::Rustls(r) => Some(r.to_string()),
        ureq::Error::Tls(s) => Some((*s).to_owned()),
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|i| i.downcast_ref::<rustls::Error>())
            .map(|r| r.to_string()),
        _ => None,
    }
}

/// A one-line description of a transport failure.
fn describe(e: &ureq::Error) -> String {
    if let Some(t) = tls_error(e) {
        let hint = if t.contains("certificate") {
            " (if the server's CA is private, trust it with --cacert FILE or SSL_CERT_FILE)"
        } else {
            ""
        };
        return format!("TLS: {t}{hint}");
    }
    match e {
        // The global timeout is the deadline's (`--max-time`), which the caller names.
        ureq::Error::Timeout(ureq::Timeout::Global) => "timed out".into(),
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => "cannot resolve the host name".into(),
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            std::io::ErrorKind::ConnectionReset => "connection reset".into(),
            std::io::ErrorKind::UnexpectedEof => "connection closed".into(),
            _ => io.to_string(),
        },
        ureq::Error::Protocol(p) => format!("HTTP protocol error: {p}"),
        ureq::Error::ConnectProxyFailed(m) => format!("proxy CONNECT failed: {m}"),
        ureq::Error::LargeResponseHeader(n, max) => {
            format!("response header of {n} bytes is over the limit of {max}")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many attempts `with_retries` makes for a failure of `stage` with `method`.
    fn attempts(method: Method<'_>, stage: Stage) -> u32 {
        let c = Client::new(Config {
            retry_backoff: Duration::from_millis(1),
            ..Config::default()
        })
        .unwrap();
        let mut n = 0;
        let url = Url::parse("https://x/").unwrap();
        let r: Result<(), FetchError> = c.with_retries(&url, method, || {
            n += 1;
            Err(Failure {
                error: FetchError::network("https://x/", "boom"),
                stage,
            })
        });
        assert!(r.is_err());
        n
    }

    #[test]
    fn retry_policy() {
        let post = Method::Post(b"body", None);
        assert_eq!(attempts(Method::Get, Stage::BeforeSend), 3);
        assert_eq!(attempts(Method::Get, Stage::InTransit), 3);
        assert_eq!(attempts(Method::Get, Stage::Final), 1);
        assert_eq!(attempts(post, Stage::BeforeSend), 3);
        assert_eq!(attempts(post, Stage::InTransit), 1);
        assert_eq!(attempts(post, Stage::Final), 1);
    }
    #[test]
    fn no_attempt_or_pause_runs_past_the_deadline() {
        let client = |deadline| {
            Client::new(Config {
                retry_backoff: Duration::from_millis(400),
                deadline: Some(deadline),
                ..Config::default()
            })
            .unwrap()
        };
        let url = Url::parse("https://x/f").unwrap();
        let failing = |n: &mut u32| {
            *n += 1;
            Err::<(), _>(Failure {
                error: FetchError::network("https://x/f", "timed out"),
                stage: Stage::InTransit,
            })
        };
        // Time is up: nothing is attempted.
        let mut n = 0;
        let e = client(Deadline::after(Duration::ZERO))
            .with_retries(&url, Method::Get, || failing(&mut n))
            .unwrap_err();
        assert_eq!(n, 0);
        assert_eq!(e.kind(), crate::error::Kind::Network);
        assert_eq!(
            e.to_string(),
            "the time limit of 0 s for the whole command (--max-time) ran out: https://x/f: not requested"
        );
        // 300 ms left, a 400 ms pause: one attempt, then the deadline, at once.
        let mut n = 0;
        let start = std::time::Instant::now();
        let e = client(Deadline::after(Duration::from_millis(300)))
            .with_retries(&url, Method::Get, || failing(&mut n))
            .unwrap_err();
        assert_eq!(n, 1);
        assert!(start.elapsed() < Duration::from_millis(250));
        assert!(
            e.to_string().contains("ran out: https://x/f: timed out"),
            "{e}"
        );
        // A final failure is not dressed up as the deadline's.
        let e = client(Deadline::after(Duration::from_millis(50)))
            .with_retries(&url, Method::Get, || {
                Err::<(), _>(Failure::final_(FetchError::NotFound {
                    url: "https://x/f".into(),
                    status: 404,
                }))
            })
            .unwrap_err();
        assert_eq!(e.kind(), crate::error::Kind::NotFound);
    }
}
