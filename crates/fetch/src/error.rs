//! [`FetchError`]: why a fetch failed, as one line naming the URL (or file) and the problem, with a
//! [`Kind`] the CLI maps to an exit code.

use std::path::PathBuf;

/// The class of a fetch failure; the CLI maps each to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// DNS, connect, TLS (including an untrusted certificate), timeouts, resets, a truncated body,
    /// a proxy that failed, the whole command's time limit.
    Network,
    /// HTTP 404 or 410.
    NotFound,
    /// Any other non-2xx status (including a redirect without a usable `Location`).
    Http,
    /// A body over its size limit (declared or actually sent).
    TooLarge,
    /// Plain http without `allow_http`, or a redirect from https to http.
    Insecure,
    /// More redirects than allowed.
    TooManyRedirects,
    /// A URL that is not an absolute http(s) URL, or a `Location` that cannot be resolved.
    BadUrl,
    /// The server answered 2xx with a body that is not what the protocol says (a malformed
    /// lookup answer).
    BadResponse,
    /// Local configuration: a CA file that cannot be read or parsed, a malformed proxy variable.
    Config,
    /// Local file system: creating, writing, syncing or renaming the temporary file.
    LocalIo,
}

/// Why a fetch failed. `Display` is one line that names the URL (or file) and the problem.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server could not be reached or the transfer broke off (see [`Kind::Network`]).
    #[error("{url}: {reason}")]
    Network {
        /// The URL fetched.
        url: String,
        /// What failed: DNS, connect, TLS, timeout, reset, truncated body, proxy.
        reason: String,
    },

    /// The server answered 404 or 410.
    #[error("{url}: not found (HTTP {status})")]
    NotFound {
        /// The URL fetched.
        url: String,
        /// The HTTP status (404 or 410).
        status: u16,
    },

    /// The server answered another non-2xx status.
    #[error("{url}: HTTP {status}{}", detail_suffix(.detail))]
    Http {
        /// The URL fetched.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The first line of the error body, bounded and escaped (empty if none).
        detail: String,
    },

    /// The body is over the caller's limit: refused from `Content-Length`, or cut off once that
    /// many bytes arrived.
    #[error("{url}: body is larger than the limit of {limit} bytes{}", declared_suffix(*.declared))]
    TooLarge {
        /// The URL fetched.
        url: String,
        /// The limit, in bytes.
        limit: u64,
        /// The `Content-Length` the server declared, when that is how we knew.
        declared: Option<u64>,
    },

    /// A plain http URL without `allow_http`, or a redirect from https to http: a downgrade that
    /// would let anyone on the path alter the answer.
    #[error("{url}: {reason}")]
    Insecure {
        /// The URL refused.
        url: String,
        /// Why it is refused.
        reason: String,
    },

    /// The whole command's time limit ran out (`--max-time`); `during` says what was under way
    /// (the last attempt's error, which names the URL).
    #[error("{limit} ran out: {during}")]
    Deadline {
        /// The limit, described for the message (`--max-time`).
        limit: String,
        /// The last attempt's error.
        during: String,
    },

    /// The server redirected more times than allowed (a redirect loop, or a chain built to waste
    /// time).
    #[error("{url}: more than {max} redirects")]
    TooManyRedirects {
        /// The URL first asked for.
        url: String,
        /// The most redirects followed.
        max: u32,
    },

    /// A URL that is not an absolute http(s) URL, or a `Location` that cannot be resolved.
    #[error("{url:?}: bad URL: {reason}")]
    BadUrl {
        /// The URL (or `Location`) as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A 2xx answer whose body or headers are not what the protocol says.
    #[error("{url}: malformed answer: {reason}")]
    BadResponse {
        /// The URL fetched.
        url: String,
        /// What is wrong with the answer.
        reason: String,
    },

    /// Local configuration: a CA file that cannot be read or parsed, a malformed proxy.
    #[error("{what}: {reason}")]
    Config {
        /// What is misconfigured: `CA file PATH`, `proxy ...`.
        what: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A local file operation failed: creating, writing, syncing or renaming the output.
    #[error("{}: {reason}: {source}", .path.display())]
    LocalIo {
        /// The file operated on.
        path: PathBuf,
        /// The operation that failed.
        reason: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn detail_suffix(d: &str) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!(": {d}")
    }
}

fn declared_suffix(d: Option<u64>) -> String {
    match d {
        Some(n) => format!(" (Content-Length: {n})"),
        None => String::new(),
    }
}

impl FetchError {
    /// The class of the failure.
    pub fn kind(&self) -> Kind {
        match self {
            FetchError::Network { .. } => Kind::Network,
            FetchError::NotFound { .. } => Kind::NotFound,
            FetchError::Http { .. } => Kind::Http,
            FetchError::TooLarge { .. } => Kind::TooLarge,
            FetchError::Insecure { .. } => Kind::Insecure,
            FetchError::Deadline { .. } => Kind::Network,
            FetchError::TooManyRedirects { .. } => Kind::TooManyRedirects,
            FetchError::BadUrl { .. } => Kind::BadUrl,
            FetchError::BadResponse { .. } => Kind::BadResponse,
            FetchError::Config { .. } => Kind::Config,
            FetchError::LocalIo { .. } => Kind::LocalIo,
        }
    }

    /// Whether the server answered, but not with what was asked: not found, a client error (4xx),
    /// an answer that does not parse or is too large. For data of a tree a log signed (a Sigsum
    /// log's consistency proof), that is the log failing to back its tree, a trust anomaly; a
    /// server that could not be reached (or a 5xx) is the network's failure.
    pub fn is_unserved(&self) -> bool {
        match self {
            FetchError::Http { status, .. } => (400..500).contains(status),
            e => matches!(
                e.kind(),
                Kind::NotFound | Kind::BadResponse | Kind::TooLarge
            ),
        }
    }

    pub(crate) fn network(url: &str, reason: impl Into<String>) -> FetchError {
        FetchError::Network {
            url: url.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn deadline(d: &crate::deadline::Deadline, during: impl Into<String>) -> FetchError {
        FetchError::Deadline {
            limit: d.describe(),
            during: during.into(),
        }
    }

    pub(crate) fn bad_url(url: &str, reason: impl Into<String>) -> FetchError {
        FetchError::BadUrl {
            url: url.chars().take(200).collect(),
            reason: reason.into(),
        }
    }

    pub(crate) fn local(
        path: impl Into<PathBuf>,
        reason: &'static str,
        source: std::io::Error,
    ) -> FetchError {
        FetchError::LocalIo {
            path: path.into(),
            reason,
            source,
        }
    }
}
