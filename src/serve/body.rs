//! Reading a request body within a size and a time limit.

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, StatusCode, header};
use std::fmt;
use std::time::Duration;

/// How much of an over-limit body is still read (and discarded) before answering 413. Closing a
/// socket with unread data makes the kernel send a reset, which can destroy the 413 before the
/// client reads it; a bounded drain lets ordinary clients see the answer without letting a hostile
/// one make us read forever.
const DRAIN_BYTES: usize = 256 * 1024;

/// Why a body could not be read, and so how the request is answered.
pub enum BodyError {
    /// Longer than `max` bytes (declared, or sent).
    TooLarge {
        /// The largest body accepted, in bytes.
        max: usize,
    },
    /// Not received within the body timeout.
    Timeout,
    /// The connection failed while the body was read (a malformed chunk, a reset).
    Read(hyper::Error),
}

impl BodyError {
    /// The status the request is answered with: 413, 408 or 400.
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Timeout => StatusCode::REQUEST_TIMEOUT,
            BodyError::Read(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// Whether the connection closes after the answer: the rest of an over-limit or late body is
    /// left unread, so what the client sends next cannot be told from it.
    pub fn closes_connection(&self) -> bool {
        !matches!(self, BodyError::Read(_))
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::TooLarge { max } => {
                write!(f, "request body is larger than the limit of {max} bytes")
            }
            BodyError::Timeout => f.write_str("request body not received in time"),
            BodyError::Read(e) => write!(f, "cannot read the request body: {e}"),
        }
    }
}

/// Reads at most `max` body bytes within `timeout`. An over-limit body is drained (discarded) up to
/// [`DRAIN_BYTES`] more, for the reason given there; a declared length beyond that is refused without
/// reading anything.
pub async fn read_body(
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
        return Err(BodyError::TooLarge { max });
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
            Err(BodyError::TooLarge { max })
        } else {
            Ok(out)
        }
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or(Err(BodyError::Timeout))
}
