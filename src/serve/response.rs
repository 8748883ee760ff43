//! The answers both servers give: one-line text bodies for errors and short answers, and the
//! headers every answer sets (content type, caching).

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

/// What a handler answers: a whole body in memory (every answer of the log and the witness is
/// small, or a tile already read).
pub type Answer = Response<Full<Bytes>>;

/// A response with a one-line text body (an error or a short answer).
pub fn line(status: StatusCode, text: &str) -> Answer {
    let mut body = text.replace('\n', "\\n").replace('\r', "\\r");
    body.push('\n');
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    set(&mut r, header::CONTENT_TYPE, "text/plain; charset=utf-8");
    set(&mut r, header::CACHE_CONTROL, "no-store");
    r
}

/// Sets header `name` of `r` to `value`, replacing any value it had.
pub fn set(r: &mut Answer, name: header::HeaderName, value: &'static str) {
    r.headers_mut()
        .insert(name, HeaderValue::from_static(value));
}

/// A 200 answer with `body` and the given `Content-Type` and `Cache-Control`.
pub fn ok(body: impl Into<Bytes>, content_type: &'static str, cache: &'static str) -> Answer {
    let mut r = Response::new(Full::new(body.into()));
    set(&mut r, header::CONTENT_TYPE, content_type);
    set(&mut r, header::CACHE_CONTROL, cache);
    r
}

/// A 405 answer whose one-line body and `Allow` header list the methods `allow`ed.
pub fn method_not_allowed(allow: &'static str) -> Answer {
    let mut r = line(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed (allowed: {allow})"),
    );
    set(&mut r, header::ALLOW, allow);
    r
}
