//! The witness's HTTP server (`rget witness serve`), on the serving plumbing it shares with the log
//! (limits, body reading, write timeouts, logging; `crate::serve`).
//!
//! Routes (submission and monitoring prefix `/`):
//! - `POST /add-checkpoint`: C2SP tlog-witness. 200 with the `cosignature/v1` line; 400, 403, 404,
//!   409 (body `<size>\n`, `Content-Type: text/x.tlog.size`), 422 as the spec says; 429 with
//!   `Retry-After` once a log with a `qpd` budget has spent it; 413 for a body over the limit, 408
//!   for one not received in time.
//! - `GET|HEAD /<lowercase hex SHA-256(origin)>/checkpoint`: the latest checkpoint this witness
//!   cosigned for that log, with the log's signature and this witness's cosignature; 404 if none.
//!
//! Anything else is 404; a known path with another method is 405 with `Allow`.

use super::{Refusal, Witness};
use crate::serve::body::read_body;
use crate::serve::logfmt::{Level, event};
use crate::serve::response::{line, method_not_allowed, ok, set};
use crate::serve::{Answer, Connections, Limits, serve_connections};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;

/// Largest `add-checkpoint` body by default: a checkpoint with a hundred signature lines and a full
/// 63-line proof fits several times over.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// The content type of a 409's body.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

struct State {
    witness: Arc<Witness>,
    limits: Limits,
}

/// Serves the witness on `listener` until `shutdown` resolves (with the name of what asked), then
/// stops accepting, lets in-flight requests finish (at most `limits.shutdown_grace`) and returns.
/// A request whose state update has started always completes it: the update runs on a blocking
/// thread that the runtime waits for.
pub async fn serve(
    listener: TcpListener,
    witness: Arc<Witness>,
    limits: Limits,
    shutdown: impl Future<Output = &'static str>,
) {
    let state = Arc::new(State {
        witness,
        limits: limits.clone(),
    });
    let st = state.clone();
    let handler = Arc::new(move |req: Request<Incoming>, peer: SocketAddr| {
        let st = st.clone();
        async move { route(req, &st, peer).await }
    });
    let counts = Arc::new(Connections::default());
    serve_connections(listener, &limits, counts, shutdown, async {}, handler).await;
}

async fn route(req: Request<Incoming>, st: &State, peer: SocketAddr) -> Answer {
    let path = req.uri().path().to_owned();
    let read = matches!(*req.method(), Method::GET | Method::HEAD);
    match path.as_str() {
        "/add-checkpoint" if *req.method() == Method::POST => add_checkpoint(req, st, peer).await,
        "/add-checkpoint" => method_not_allowed("POST"),
        p => match monitoring_hash(p) {
            Some(hex) if read => match st.witness.latest(hex) {
                Some(note) => ok(note, "text/plain; charset=utf-8", "no-cache"),
                None => line(
                    StatusCode::NOT_FOUND,
                    "this witness has not cosigned a checkpoint of that log",
                ),
            },
            Some(_) => method_not_allowed("GET, HEAD"),
            None => line(StatusCode::NOT_FOUND, "not found"),
        },
    }
}

/// `<64 lowercase hex>` of `/<hex>/checkpoint`.
fn monitoring_hash(path: &str) -> Option<&str> {
    let hex = path.strip_prefix('/')?.strip_suffix("/checkpoint")?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(hex)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn add_checkpoint(req: Request<Incoming>, st: &State, peer: SocketAddr) -> Answer {
    let body = match read_body(req, st.limits.max_body, st.limits.body_timeout).await {
        Ok(b) => b,
        Err(e) => {
            event(
                Level::Warn,
                "add-checkpoint refused",
                &[
                    ("status", &e.status().as_u16()),
                    ("peer", &peer),
                    ("reason", &e),
                ],
            );
            let mut r = line(e.status(), &e.to_string());
            if e.closes_connection() {
                set(&mut r, header::CONNECTION, "close");
            }
            return r;
        }
    };
    // Signature checks and the fsync of the new state block: keep them off the async workers.
    let w = st.witness.clone();
    let evidence = body.clone();
    let outcome = tokio::task::spawn_blocking(move || w.add_checkpoint(&body, now()))
        .await
        .unwrap_or_else(|e| Err(Refusal::Internal(format!("the request's task failed: {e}"))));
    match outcome {
        Ok(c) => {
            event(
                Level::Info,
                "cosigned",
                &[
                    ("origin", &c.origin),
                    ("old", &c.old),
                    ("size", &c.size),
                    ("peer", &peer),
                ],
            );
            ok(c.lines, "text/plain; charset=utf-8", "no-store")
        }
        Err(Refusal::Conflict(size)) => {
            let mut r = ok(format!("{size}\n"), SIZE_CONTENT_TYPE, "no-store");
            *r.status_mut() = StatusCode::CONFLICT;
            event(
                Level::Info,
                "add-checkpoint conflict",
                &[("status", &409), ("latest_size", &size), ("peer", &peer)],
            );
            r
        }
        Err(refusal) => {
            let status =
                StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let why = refusal.to_string();
            match &refusal {
                // A log signed something inconsistent with what we cosigned: keep the whole request
                // as evidence of misbehaviour.
                Refusal::Inconsistent(_) => event(
                    Level::Warn,
                    "inconsistent checkpoint refused (evidence of log misbehaviour)",
                    &[
                        ("status", &status.as_u16()),
                        ("peer", &peer),
                        ("reason", &why),
                        ("request", &String::from_utf8_lossy(&evidence)),
                    ],
                ),
                Refusal::Internal(_) => event(
                    Level::Error,
                    "add-checkpoint failed",
                    &[("status", &status.as_u16()), ("error", &why)],
                ),
                _ => event(
                    Level::Warn,
                    "add-checkpoint refused",
                    &[
                        ("status", &status.as_u16()),
                        ("peer", &peer),
                        ("reason", &why),
                    ],
                ),
            }
            let mut r = line(status, &why);
            match refusal {
                Refusal::Internal(_) => {
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                }
                // When the log's budget has the next request (RFC 9110, section 10.2.3: seconds).
                Refusal::TooManyRequests { retry_after, .. } => {
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                }
                _ => {}
            }
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitoring_paths() {
        let h = "a".repeat(64);
        assert_eq!(
            monitoring_hash(&format!("/{h}/checkpoint")),
            Some(h.as_str())
        );
        assert_eq!(
            monitoring_hash(&format!("/{}/checkpoint", "A".repeat(64))),
            None
        );
        assert_eq!(
            monitoring_hash(&format!("/{}/checkpoint", "a".repeat(63))),
            None
        );
        assert_eq!(monitoring_hash(&format!("/{h}/checkpoint/")), None);
        assert_eq!(monitoring_hash("/checkpoint"), None);
    }
}
