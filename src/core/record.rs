//! `rget/record/v1`: the log entry for one published `SHA256SUMS`.
//!
//! ```text
//! rget/record/v1
//! url <canonical https URL of the SHA256SUMS file>
//! sha256 <64 lowercase hex, SHA-256 of the SHA256SUMS bytes>
//!
//! <the SHA256SUMS bytes, verbatim>
//! ```
//!
//! Any verifier rebuilds the record from the URL it fetched and the bytes it got, so the record binds the
//! *content* to the *place*: the same bytes at another URL, or other bytes at this URL, are a different
//! leaf. That is what lets a monitor see "the content behind this URL changed".

use crate::core::digest::{Hash, sha256};
use crate::core::sums;

/// First line of every record.
pub const HEADER: &str = "rget/record/v1";
/// A record must fit one tlog-tiles entry (uint16 length prefix).
pub const MAX_RECORD: usize = 65_535;
/// Longest accepted URL.
pub const MAX_URL: usize = 2048;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("URL is longer than {MAX_URL} bytes")]
    UrlTooLong,
    #[error("URL {0:?} is not https (records are only made for https URLs)")]
    NotHttps(String),
    #[error("URL {url:?} is not usable: {reason}")]
    BadUrl { url: String, reason: &'static str },
    #[error("record would be {0} bytes, more than the {MAX_RECORD} a log entry can hold")]
    TooLarge(usize),
    #[error("record is malformed: {0}")]
    Malformed(&'static str),
    #[error("record's sha256 line does not match the SHA256SUMS bytes it carries")]
    DigestMismatch,
    #[error("record's URL {0:?} is not in canonical form")]
    NotCanonical(String),
    #[error("record's SHA256SUMS is malformed: {0}")]
    Sums(#[from] sums::SumsError),
}

fn bad(url: &str, reason: &'static str) -> RecordError {
    RecordError::BadUrl {
        url: url.to_string(),
        reason,
    }
}

/// Puts an https URL into the one spelling that records use, or says why it cannot be used.
///
/// Two spellings of one place would be two different leaves, and a monitor watching one spelling would
/// miss records made under the other. So the scheme and host are lowercased and the default port is
/// dropped, and everything that HTTP clients would silently rewrite or that does not name a file is
/// refused rather than normalised: user info, query, fragment, dot segments, empty path segments
/// inside the path, whitespace, control and non-ASCII characters.
pub fn canonical_url(input: &str) -> Result<String, RecordError> {
    if input.len() > MAX_URL {
        return Err(RecordError::UrlTooLong);
    }
    if !input.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(
            input,
            "it contains whitespace, control or non-ASCII characters",
        ));
    }
    let Some((scheme, rest)) = input.split_once("://") else {
        return Err(bad(input, "it has no scheme"));
    };
    if !scheme.eq_ignore_ascii_case("https") {
        return Err(RecordError::NotHttps(input.to_string()));
    }
    if input.contains('#') {
        return Err(bad(input, "it has a fragment"));
    }
    if input.contains('?') {
        return Err(bad(input, "it has a query"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        return Err(bad(input, "it has user info"));
    }
    let (host, port) = split_port(authority)
        .ok_or_else(|| bad(input, "its port is not a number from 1 to 65535"))?;
    if !valid_host(host) {
        return Err(bad(input, "its host is not a DNS name or IP address"));
    }
    if path.contains('\\') {
        return Err(bad(input, "its path contains a backslash"));
    }
    // RFC 3986 section 2: a URL holds only unreserved and reserved characters and `%`. Others (`"`,
    // `<`, `>`, `^`, `{`, `|`, `}`, the backquote) are not sent as written by HTTP clients, so such a
    // URL names no file anyone can fetch as recorded (found by the `canonical_url` fuzz target).
    if !path.bytes().all(is_uri_char) {
        return Err(bad(
            input,
            "its path contains a character URLs may not hold",
        ));
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        if matches!(*seg, "." | "..") || is_encoded_dot_segment(seg) {
            return Err(bad(input, "its path has a dot segment"));
        }
        if seg.is_empty() && i + 1 != segments.len() {
            return Err(bad(input, "its path has an empty segment"));
        }
    }
    let mut out = String::with_capacity(input.len());
    out.push_str("https://");
    out.push_str(&host.to_ascii_lowercase());
    if let Some(p) = port.filter(|p| *p != 443) {
        out.push(':');
        out.push_str(&p.to_string());
    }
    out.push_str(path);
    Ok(out)
}

/// RFC 3986 unreserved, reserved and `%`.
fn is_uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

fn is_encoded_dot_segment(seg: &str) -> bool {
    let s = seg.to_ascii_lowercase().replace("%2e", ".");
    s == "." || s == ".."
}

fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    // IPv6 literal: [addr] or [addr]:port
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        return match rest {
            "" => Some((host, None)),
            r => Some((host, Some(parse_port(r.strip_prefix(':')?)?))),
        };
    }
    match authority.split_once(':') {
        None => Some((authority, None)),
        Some((h, p)) => Some((h, Some(parse_port(p)?))),
    }
}

fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) || p.starts_with('0') {
        return None;
    }
    p.parse::<u16>().ok().filter(|p| *p != 0)
}

fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Builds the record for `SHA256SUMS` bytes published at `url`. The URL is canonicalised; the bytes must
/// be a well-formed `SHA256SUMS` (a log entry nobody can use is refused at the door).
pub fn build(url: &str, sums_bytes: &[u8]) -> Result<Vec<u8>, RecordError> {
    let url = canonical_url(url)?;
    sums::parse(sums_bytes)?;
    let digest = sha256(sums_bytes);
    let head = format!("{HEADER}\nurl {url}\nsha256 {}\n\n", digest.to_hex());
    let total = head.len() + sums_bytes.len();
    if total > MAX_RECORD {
        return Err(RecordError::TooLarge(total));
    }
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(sums_bytes);
    Ok(out)
}

/// A parsed record, borrowing the entry bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// The canonical URL of the `SHA256SUMS`.
    pub url: &'a str,
    /// SHA-256 of the `SHA256SUMS` bytes.
    pub sums_sha256: Hash,
    /// The `SHA256SUMS` bytes, verbatim.
    pub sums: &'a [u8],
}

/// Parses a log entry as a record and checks everything a record promises: the header, a canonical
/// URL, a digest that matches the carried bytes, and a well-formed `SHA256SUMS`.
pub fn parse(entry: &[u8]) -> Result<Record<'_>, RecordError> {
    let r = parse_header(entry)?;
    if canonical_url(r.url)? != r.url {
        return Err(RecordError::NotCanonical(r.url.to_string()));
    }
    if sha256(r.sums) != r.sums_sha256 {
        return Err(RecordError::DigestMismatch);
    }
    sums::parse(r.sums)?;
    Ok(r)
}

/// Splits a record into its fields after checking only the header's shape. For indexing entries a log
/// has already validated (the log checked them with [`build`] on the way in); anything that decides
/// trust uses [`parse`] or rebuilds the record with [`build`].
pub fn parse_header(entry: &[u8]) -> Result<Record<'_>, RecordError> {
    if entry.len() > MAX_RECORD {
        return Err(RecordError::TooLarge(entry.len()));
    }
    let (header, sums_bytes) =
        split_header(entry).ok_or(RecordError::Malformed("no blank line after the header"))?;
    let header =
        std::str::from_utf8(header).map_err(|_| RecordError::Malformed("header is not UTF-8"))?;
    let mut lines = header.split('\n');
    if lines.next() != Some(HEADER) {
        return Err(RecordError::Malformed("first line is not rget/record/v1"));
    }
    let url = lines
        .next()
        .and_then(|l| l.strip_prefix("url "))
        .ok_or(RecordError::Malformed("second line is not \"url <URL>\""))?;
    let digest = lines
        .next()
        .and_then(|l| l.strip_prefix("sha256 "))
        .and_then(Hash::from_hex)
        .ok_or(RecordError::Malformed(
            "third line is not \"sha256 <64 lowercase hex>\"",
        ))?;
    if lines.next().is_some() {
        return Err(RecordError::Malformed("header has more than three lines"));
    }
    Ok(Record {
        url,
        sums_sha256: digest,
        sums: sums_bytes,
    })
}

/// Splits at the first blank line: the header has exactly three non-empty lines, so the first "\n\n"
/// ends it (the SHA256SUMS part may itself contain anything).
fn split_header(entry: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = entry.windows(2).position(|w| w == b"\n\n")?;
    Some((&entry[..i], &entry[i + 2..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUMS: &[u8] =
        b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty.txt\n";

    #[test]
    fn build_and_parse_round_trip() {
        let r = build("HTTPS://Example.ORG:443/rel/v1/SHA256SUMS", SUMS).unwrap();
        let text = String::from_utf8(r.clone()).unwrap();
        assert!(
            text.starts_with("rget/record/v1\nurl https://example.org/rel/v1/SHA256SUMS\nsha256 ")
        );
        let p = parse(&r).unwrap();
        assert_eq!(p.url, "https://example.org/rel/v1/SHA256SUMS");
        assert_eq!(p.sums, SUMS);
        assert_eq!(p.sums_sha256, sha256(SUMS));
    }

    #[test]
    fn canonical_urls() {
        let ok = |u: &str| canonical_url(u).unwrap();
        assert_eq!(ok("https://a.example/x"), "https://a.example/x");
        assert_eq!(ok("https://A.example:8443/x"), "https://a.example:8443/x");
        assert_eq!(ok("https://a.example"), "https://a.example/");
        assert_eq!(ok("https://[::1]:8443/x/"), "https://[::1]:8443/x/");
        assert_eq!(
            ok("https://127.0.0.1:4443/SHA256SUMS"),
            "https://127.0.0.1:4443/SHA256SUMS"
        );
        for bad_url in [
            "http://a.example/x",
            "ftp://a.example/x",
            "a.example/x",
            "https://user@a.example/x",
            "https://a.example/x?y=1",
            "https://a.example/x#f",
            "https://a.example/../x",
            "https://a.example/a/%2E%2E/x",
            "https://a.example/a//x",
            "https://a.example/a x",
            "https://a.example:0/x",
            "https://a.example:65536/x",
            "https://a.example:080/x",
            "https://a_b.example/x",
            "https:///x",
            "https://a.example/é",
            "https://a.example\\x",
            // Regressions from the `canonical_url` fuzz target: not URL characters.
            "https://a.h/ps/tta:.exam-`---plrel/",
            "https://a.example/a{b}",
            "https://a.example/a|b",
            "https://a.example/a^b",
            "https://a.example/a\"b",
            "https://a.example/a<b>",
        ] {
            assert!(canonical_url(bad_url).is_err(), "{bad_url} accepted");
        }
        assert_eq!(
            canonical_url(&format!("https://a.example/{}", "x".repeat(MAX_URL))),
            Err(RecordError::UrlTooLong)
        );
    }

    #[test]
    fn parse_rejects_tampering() {
        let r = build("https://a.example/SHA256SUMS", SUMS).unwrap();
        let mut changed = r.clone();
        *changed.last_mut().unwrap() = b'X';
        assert!(parse(&changed).is_err());
        let s = String::from_utf8(r).unwrap();
        let upper = s.replace("url https://a.example", "url https://A.example");
        assert!(matches!(
            parse(upper.as_bytes()),
            Err(RecordError::NotCanonical(_))
        ));
        let v2 = s.replace("rget/record/v1", "rget/record/v2");
        assert!(matches!(
            parse(v2.as_bytes()),
            Err(RecordError::Malformed(_))
        ));
        let digest = sha256(SUMS).to_hex();
        let other = s.replace(&digest, &"0".repeat(64));
        assert_eq!(parse(other.as_bytes()), Err(RecordError::DigestMismatch));
        assert!(parse(b"").is_err());
        assert!(parse(&vec![b'a'; MAX_RECORD + 1]).is_err());
    }

    #[test]
    fn size_limit() {
        let line = format!("{}  ", "0".repeat(64));
        let mut sums = Vec::new();
        let mut i = 0;
        while sums.len() < MAX_RECORD {
            sums.extend_from_slice(format!("{line}file{i}\n").as_bytes());
            i += 1;
        }
        assert!(matches!(
            build("https://a.example/SHA256SUMS", &sums),
            Err(RecordError::TooLarge(_))
        ));
    }
}
