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

use crate::digest::{Hash, sha256};
use crate::percent::hex_digit;
use crate::sums;

/// First line of every record.
pub const HEADER: &str = "rget/record/v1";
/// A record must fit one tlog-tiles entry (uint16 length prefix).
pub const MAX_RECORD: usize = 65_535;
/// Longest accepted URL.
pub const MAX_URL: usize = 2048;

/// Why a URL has no canonical form, or a record cannot be built or parsed. Messages are one line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// The URL is longer than [`MAX_URL`] bytes; refused before any other check.
    #[error("URL is longer than {MAX_URL} bytes")]
    UrlTooLong,
    /// The URL's scheme (before `://`) is not `https` in any letter case. Holds the URL as given.
    #[error("URL {0:?} is not https (records are only made for https URLs)")]
    NotHttps(String),
    /// The URL cannot be put into one canonical spelling: no scheme, a fragment, query or user
    /// info, a bad port, host or path (see [`canonical_url`] for each rule).
    #[error("URL {url:?} is not usable: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// Which rule it breaks, as a clause that completes "URL is not usable: ".
        reason: &'static str,
    },
    /// The record (when building) or the log entry (when parsing) is longer than [`MAX_RECORD`]
    /// bytes. Holds its length in bytes.
    #[error("record would be {0} bytes, more than the {MAX_RECORD} a log entry can hold")]
    TooLarge(usize),
    /// The entry's header is not the three lines `rget/record/v1`, `url <URL>`,
    /// `sha256 <64 lowercase hex>` followed by a blank line, or is not UTF-8. Holds which part is
    /// wrong.
    #[error("record is malformed: {0}")]
    Malformed(&'static str),
    /// The entry's `sha256` line is not the SHA-256 of the `SHA256SUMS` bytes after its header.
    #[error("record's sha256 line does not match the SHA256SUMS bytes it carries")]
    DigestMismatch,
    /// The entry's `url` line is a usable URL but not in the canonical spelling [`canonical_url`]
    /// gives it, so one place would have two records. Holds the URL as the entry gives it.
    #[error("record's URL {0:?} is not in canonical form")]
    NotCanonical(String),
    /// The `SHA256SUMS` bytes (given to [`build`], or carried by the entry) do not parse.
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
/// Two spellings of one place would be two different leaves: one file could get two records, a monitor
/// watching one spelling would miss records made under the other, and a client's "this URL has one
/// record" check could be dodged by respelling the URL. So URLs are normalised as RFC 3986 section
/// 6.2.2 says: the scheme and host are lowercased (an IPv6 literal is printed in RFC 5952 form), the
/// default port is dropped, percent-encoded unreserved characters (`A-Z a-z 0-9 - . _ ~`, section
/// 2.3) are decoded, and the hex digits of every other escape are uppercased. Reserved characters keep
/// their spelling: section 2.2 makes `/a%3Bb` and `/a;b` different URLs, and servers do treat them
/// differently.
///
/// Whatever cannot be normalised safely is refused rather than guessed at:
/// - user info, query, fragment, whitespace, control and non-ASCII characters, and characters a URL
///   must percent-encode (`"<>[\]^`{|}` in the path), which HTTP clients would silently rewrite;
/// - dot segments (also encoded, `%2E%2E`) and empty segments inside the path, which clients and
///   servers resolve differently;
/// - an encoded `/` or `\` (`%2F`, `%5C`) or control character (`%00`-`%1F`, `%7F`) in the path:
///   some servers turn them into directory separators or cut the path at NUL, others do not, so the
///   URL would not name one file;
/// - a numeric host that is not a plain dotted-quad IPv4 address (`127.1`, `0x7f.0.0.1`,
///   `2130706433`, `127.000.0.1`): WHATWG URL parsers read those as IPv4 addresses in shorthand,
///   octal or hex, so the same server would have many names.
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
    let host = canonical_host(host).map_err(|reason| bad(input, reason))?;
    let path = canonical_path(path).map_err(|reason| bad(input, reason))?;
    let segments: Vec<&str> = path[1..].split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        if matches!(*seg, "." | "..") {
            return Err(bad(input, "its path has a dot segment"));
        }
        if seg.is_empty() && i + 1 != segments.len() {
            return Err(bad(input, "its path has an empty segment"));
        }
    }
    let mut out = String::with_capacity(input.len());
    out.push_str("https://");
    out.push_str(&host);
    if let Some(p) = port.filter(|p| *p != 443) {
        out.push(':');
        out.push_str(&p.to_string());
    }
    out.push_str(&path);
    Ok(out)
}

/// RFC 3986 section 2.3.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// What a path may hold unencoded besides unreserved characters and `%`: RFC 3986 `pchar`'s
/// sub-delims, `:` and `@`, and `/` between segments.
fn is_path_char(b: u8) -> bool {
    is_unreserved(b) || b"!$&'()*+,;=:@/".contains(&b)
}

/// The path with percent-encoded unreserved characters decoded and the hex of every other escape in
/// uppercase (RFC 3986 section 6.2.2.1 and 6.2.2.2). `path` starts with `/`.
fn canonical_path(path: &str) -> Result<String, &'static str> {
    let b = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' {
            return Err("its path contains a backslash");
        }
        if c != b'%' {
            if !is_path_char(c) {
                return Err("its path has a character that URLs must percent-encode");
            }
            out.push(char::from(c));
            i += 1;
            continue;
        }
        let hi = b.get(i + 1).copied().and_then(hex_digit);
        let lo = b.get(i + 2).copied().and_then(hex_digit);
        let (Some(hi), Some(lo)) = (hi, lo) else {
            return Err("its path has a % that is not followed by two hex digits");
        };
        let byte = hi << 4 | lo;
        if byte == b'/' || byte == b'\\' {
            return Err("its path has an encoded / or \\ (%2F, %5C) inside a segment");
        }
        if byte < 0x20 || byte == 0x7f {
            return Err("its path has an encoded control character (%00-%1F, %7F)");
        }
        if is_unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
        i += 3;
    }
    Ok(out)
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

/// The host in lowercase, or an IPv6 literal in RFC 5952 form (so `[::A]` and `[0:0::a]` are one host).
fn canonical_host(host: &str) -> Result<String, &'static str> {
    const NOT_A_HOST: &str = "its host is not a DNS name or IP address";
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner
            .parse::<std::net::Ipv6Addr>()
            .map(|a| format!("[{a}]"))
            .map_err(|_| NOT_A_HOST);
    }
    let host = host.to_ascii_lowercase();
    let labels_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !labels_ok {
        return Err(NOT_A_HOST);
    }
    // The WHATWG URL standard ("ends in a number checker") parses a host whose last label is a number,
    // decimal or 0x-hex, as an IPv4 address in any of its shorthand, octal or hex forms. Only the one
    // plain form is accepted, so one address has one spelling.
    let last = host.rsplit('.').next().unwrap_or_default();
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || last
            .strip_prefix("0x")
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    if numeric && !is_dotted_quad(&host) {
        return Err(
            "its host is a number but not a dotted-quad IPv4 address (like 127.1, 0x7f.0.0.1 or 127.000.0.1, which clients read differently)",
        );
    }
    Ok(host)
}

/// Four decimal numbers from 0 to 255 without leading zeros (`010` is octal to some parsers).
fn is_dotted_quad(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u8>().is_ok()
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
        assert_eq!(ok("https://[0:0::A]/x"), "https://[::a]/x");
        assert_eq!(
            ok("https://127.0.0.1:4443/SHA256SUMS"),
            "https://127.0.0.1:4443/SHA256SUMS"
        );
        // RFC 3986 section 6.2.2: one spelling per URL.
        assert_eq!(
            ok("HTTPS://A.Example:443/%41/%7e/%7E"),
            "https://a.example/A/~/~"
        );
        assert_eq!(ok("https://a.example/%2e%2dx%5f"), "https://a.example/.-x_");
        assert_eq!(
            ok("https://a.example/r%c3%a9l/a%3bb"),
            "https://a.example/r%C3%A9l/a%3Bb"
        );
        // Reserved characters keep their spelling (section 2.2): encoded and raw are two URLs.
        assert_eq!(ok("https://a.example/a;b+c"), "https://a.example/a;b+c");
        assert_ne!(ok("https://a.example/a;b"), ok("https://a.example/a%3Bb"));
        assert_eq!(ok("https://a.example/%25"), "https://a.example/%25");
        assert_eq!(ok("https://0.0.0.0/x"), "https://0.0.0.0/x");
        assert_eq!(ok("https://255.255.255.255/x"), "https://255.255.255.255/x");
        assert_eq!(ok("https://0xg.example/x"), "https://0xg.example/x");
        for bad_url in [
            "http://a.example/x",
            "ftp://a.example/x",
            "a.example/x",
            "https://user@a.example/x",
            "https://a.example/x?y=1",
            "https://a.example/x#f",
            "https://a.example/../x",
            "https://a.example/a/%2E%2E/x",
            "https://a.example/a/%2e/x",
            "https://a.example/a//x",
            "https://a.example/a x",
            "https://a.example:0/x",
            "https://a.example:65536/x",
            "https://a.example:080/x",
            "https://a_b.example/x",
            "https:///x",
            "https://a.example/é",
            "https://a.example\\x",
            "https://a.example/a\\x",
            // Escapes that would not name one file, and malformed escapes.
            "https://a.example/a%2Fb/x",
            "https://a.example/a%2fb",
            "https://a.example/a%5Cb",
            "https://a.example/a%00b",
            "https://a.example/a%0Ab",
            "https://a.example/a%7F",
            "https://a.example/a%",
            "https://a.example/a%4",
            "https://a.example/a%zz",
            // Characters a URL must percent-encode: clients would rewrite them.
            "https://a.example/a\"b",
            "https://a.example/a<b>",
            "https://a.example/a{b}",
            "https://a.example/a|b",
            "https://a.example/a^b",
            "https://a.example/a`b",
            "https://a.example/a[b]",
            // Numeric hosts other than a plain dotted quad.
            "https://127.1/x",
            "https://127.0.1/x",
            "https://0x7f.1/x",
            "https://0x7f000001/x",
            "https://0X7F.0.0.1/x",
            "https://2130706433/x",
            "https://127.000.0.1/x",
            "https://127.0.0.01/x",
            "https://0177.0.0.1/x",
            "https://256.0.0.1/x",
            "https://1.2.3.4.5/x",
            "https://example.123/x",
            "https://example.0x1f/x",
            "https://0x/x",
            "https://[fe80::1%25eth0]/x",
            "https://[::1/x",
            // A regression from the `canonical_url` fuzz target: not URL characters.
            "https://a.h/ps/tta:.exam-`---plrel/",
        ] {
            assert!(canonical_url(bad_url).is_err(), "{bad_url} accepted");
        }
        assert_eq!(
            canonical_url(&format!("https://a.example/{}", "x".repeat(MAX_URL))),
            Err(RecordError::UrlTooLong)
        );
    }

    #[test]
    fn records_of_canonical_urls_still_parse_and_respelled_ones_do_not() {
        // A record made before normalisation of escapes, under a URL that is still canonical,
        // parses; one whose URL has another spelling now is refused as not canonical.
        let r = build("https://a.example/rel%2Bx/SHA256SUMS", SUMS).unwrap();
        assert_eq!(
            parse(&r).unwrap().url,
            "https://a.example/rel%2Bx/SHA256SUMS"
        );
        let text = String::from_utf8(r).unwrap();
        for respelled in ["rel%2bx", "%72el%2Bx"] {
            let old = text.replace("rel%2Bx", respelled);
            assert!(
                matches!(parse(old.as_bytes()), Err(RecordError::NotCanonical(_))),
                "{respelled}"
            );
        }
    }

    // ---- every spelling of a URL has one canonical form --------------------------------------

    use proptest::prelude::*;

    /// A URL in canonical form, from parts: host, port (never 443), path atoms per segment.
    #[derive(Clone, Debug)]
    struct Parts {
        host: Host,
        port: Option<u16>,
        segments: Vec<Vec<&'static str>>,
        trailing_slash: bool,
    }

    #[derive(Clone, Debug)]
    enum Host {
        Dns(Vec<String>),
        V4([u8; 4]),
        V6(std::net::Ipv6Addr),
    }

    /// Path atoms in canonical spelling. Small on purpose, so that two random URLs often differ by
    /// one reserved character encoded or not (`;` and `%3B`), which must stay two URLs.
    const ATOMS: &[&str] = &[
        "a", "Z", "0", "-", ".", "_", "~", "v1.2", ";", "%3B", "+", "%2B", "!", "%21", "%25",
        "%C3%A9", "@", ":", "=", "%20",
    ];

    fn parts() -> impl Strategy<Value = Parts> {
        let label = "[a-z][a-z0-9-]{0,5}[a-z0-9]";
        let host = prop_oneof![
            proptest::collection::vec(label, 1..4).prop_map(Host::Dns),
            any::<[u8; 4]>().prop_map(Host::V4),
            any::<[u16; 8]>().prop_map(|s| Host::V6(std::net::Ipv6Addr::from(s))),
        ];
        let port = proptest::option::of((1u16..=65535).prop_filter("not 443", |p| *p != 443));
        let segment = proptest::collection::vec(proptest::sample::select(ATOMS), 1..4)
            .prop_filter("no dot segment", |s| {
                !matches!(s.concat().as_str(), "." | "..")
            });
        let segments = proptest::collection::vec(segment, 0..4);
        (host, port, segments, any::<bool>()).prop_map(|(host, port, segments, trailing_slash)| {
            Parts {
                host,
                port,
                segments,
                trailing_slash,
            }
        })
    }

    impl Parts {
        fn canonical(&self) -> String {
            let host = match &self.host {
                Host::Dns(l) => l.join("."),
                Host::V4(o) => format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3]),
                Host::V6(a) => format!("[{a}]"),
            };
            let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
            let mut path: String = self
                .segments
                .iter()
                .map(|s| format!("/{}", s.concat()))
                .collect();
            if self.trailing_slash || path.is_empty() {
                path.push('/');
            }
            format!("https://{host}{port}{path}")
        }

        /// Another URL: where `mask` says so, a reserved character in its other spelling.
        fn with_twins(&self, mut mask: u64) -> Parts {
            const TWINS: &[(&str, &str)] = &[(";", "%3B"), ("+", "%2B"), ("!", "%21")];
            let mut p = self.clone();
            for atom in p.segments.iter_mut().flatten() {
                let flip = mask & 1 == 1;
                mask = mask.rotate_right(1);
                for (x, y) in TWINS {
                    if flip && *atom == *x {
                        *atom = y;
                    } else if flip && *atom == *y {
                        *atom = x;
                    }
                }
            }
            p
        }

        /// Another spelling of the same URL, chosen by `seed`: scheme and host case, an explicit
        /// :443, the IPv6 literal fully written out, unreserved characters percent-encoded, and the
        /// hex of every escape in either case.
        fn respell(&self, seed: u64) -> String {
            let mut rng = seed | 1;
            let mut coin = move || {
                // xorshift64
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng & 1 == 1
            };
            let case = |s: &str, coin: &mut dyn FnMut() -> bool| -> String {
                s.chars()
                    .map(|c| if coin() { c.to_ascii_uppercase() } else { c })
                    .collect()
            };
            let scheme = case("https", &mut coin);
            let host = match &self.host {
                Host::Dns(l) => case(&l.join("."), &mut coin),
                Host::V4(o) => format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3]),
                Host::V6(a) if coin() => {
                    let s = a.segments().map(|g| format!("{g:x}")).join(":");
                    format!("[{}]", case(&s, &mut coin))
                }
                Host::V6(a) => format!("[{}]", case(&a.to_string(), &mut coin)),
            };
            let port = match self.port {
                Some(p) => format!(":{p}"),
                None if coin() => ":443".to_owned(),
                None => String::new(),
            };
            let mut path = String::new();
            for seg in &self.segments {
                path.push('/');
                let text = seg.concat();
                let b = text.as_bytes();
                let mut i = 0;
                while i < b.len() {
                    if b[i] == b'%' {
                        path.push('%');
                        path.push_str(&case(&text[i + 1..i + 3].to_ascii_lowercase(), &mut coin));
                        i += 3;
                    } else {
                        if is_unreserved(b[i]) && coin() {
                            path.push_str(&case(&format!("%{:02x}", b[i]), &mut coin));
                        } else {
                            path.push(char::from(b[i]));
                        }
                        i += 1;
                    }
                }
            }
            if self.trailing_slash || self.segments.is_empty() {
                path.push('/');
            }
            format!("{scheme}://{host}{port}{path}")
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn every_spelling_maps_to_one_canonical_form(p in parts(), seed in any::<u64>()) {
            let canonical = p.canonical();
            prop_assert_eq!(canonical_url(&canonical), Ok(canonical.clone()));
            let other = p.respell(seed);
            prop_assert_eq!(canonical_url(&other), Ok(canonical), "respelled as {}", other);
        }

        #[test]
        fn distinct_canonical_urls_stay_distinct(
            a in parts(), b in parts(), twins in any::<u64>(), sa in any::<u64>(), sb in any::<u64>()
        ) {
            // `b` unrelated to `a`, and `near`: `a` with some atoms swapped for their twin, a
            // reserved character in the other spelling (`;` and `%3B`), which is another URL.
            let near = a.with_twins(twins);
            for other in [&b, &near] {
                let (ca, co) = (canonical_url(&a.respell(sa)), canonical_url(&other.respell(sb)));
                prop_assert!(ca.is_ok() && co.is_ok());
                prop_assert_eq!(ca == co, a.canonical() == other.canonical());
            }
        }

        #[test]
        fn canonical_url_is_idempotent(
            s in "(?i:https)://([a-zA-Z0-9.-]{1,12}|[0-9x.]{1,12}|\\[[0-9a-fA-F:.]{2,20}\\])(:[0-9]{1,5})?(/([a-zA-Z0-9._~;!+=:@-]|%[0-9a-fA-F]{2}){0,6}){0,4}"
        ) {
            if let Ok(c) = canonical_url(&s) {
                prop_assert_eq!(canonical_url(&c), Ok(c.clone()), "from {}", s);
            }
        }
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
