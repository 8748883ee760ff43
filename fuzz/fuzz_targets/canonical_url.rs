#![no_main]
//! `canonical_url`, the one spelling of a URL that records use:
//! - idempotent: a canonical URL is its own canonical form;
//! - every accepted URL re-parses: the fetcher's URL parser reads it back to the same string, https;
//! - spellings of one URL map to one form: an upper-case scheme, host letters in either case, and an
//!   explicit default port `:443` give the same canonical URL as the input.
use libfuzzer_sys::fuzz_target;
use rget_core::record::canonical_url;
use rget_fetch::Url;

/// The input with an upper-case scheme, the case of the host's letters swapped, and `:443` added when
/// it names no port.
fn respelled(c: &str) -> String {
    let rest = &c["https://".len()..];
    let end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let swapped: String = authority
        .chars()
        .map(|ch| {
            if ch.is_ascii_lowercase() {
                ch.to_ascii_uppercase()
            } else {
                ch.to_ascii_lowercase()
            }
        })
        .collect();
    let has_port = match authority.rfind(']') {
        Some(i) => authority[i..].contains(':'),
        None => authority.contains(':'),
    };
    let port = if has_port { "" } else { ":443" };
    format!("HTTPS://{swapped}{port}{path}")
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(c) = canonical_url(input) else { return };
    assert_eq!(
        canonical_url(&c).as_deref(),
        Ok(c.as_str()),
        "not a fixed point"
    );
    let u = Url::parse(&c).unwrap_or_else(|e| panic!("{c:?} does not re-parse: {e}"));
    assert!(u.is_https());
    assert_eq!(u.as_string(), c);
    let host = u.host();
    assert_eq!(host, host.to_ascii_lowercase());
    let other = respelled(&c);
    if other.len() > rget_core::record::MAX_URL {
        return;
    }
    assert_eq!(
        canonical_url(&other).as_deref(),
        Ok(c.as_str()),
        "{other:?}"
    );
});
