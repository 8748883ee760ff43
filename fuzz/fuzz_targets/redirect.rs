#![no_main]
//! Redirects: the fetcher's URL parser and its resolution of a `Location` header against the URL that
//! answered (RFC 3986 section 5.2). Input: the base URL, a newline, the `Location` value (no newline:
//! the value alone, against a fixed https base).
//! - parsing is a fixed point (what parses prints back to something that parses to the same URL);
//! - a resolved `Location` is such a URL too, and carries no fragment;
//! - a reference without scheme and authority keeps the base's scheme and host (a redirect can only
//!   change the host by naming one), and one with only an authority keeps the scheme;
//! - a resolved path carries no `.` or `..` segment (RFC 3986 section 5.2.4), unless it is the base's
//!   own path (an empty reference).
use libfuzzer_sys::fuzz_target;
use rget_fetch::Url;

const BASE: &str = "https://h.example/a/b/c?q";

fn has_scheme(r: &str) -> bool {
    r.find(':').is_some_and(|i| {
        let s = &r[..i];
        s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    })
}

fn authority(u: &Url) -> String {
    let s = u.as_string();
    let rest = s.split_once("://").map_or("", |(_, r)| r);
    rest[..rest.find('/').unwrap_or(rest.len())].to_owned()
}

fn fixed_point(u: &Url) {
    let s = u.as_string();
    assert!(!s.contains('#'));
    assert_eq!(Url::parse(&s).ok().as_ref(), Some(u), "{s}");
    assert_eq!(u.is_https(), s.starts_with("https://"));
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (base, reference) = text.split_once('\n').unwrap_or((BASE, text));
    let Ok(b) = Url::parse(base) else { return };
    fixed_point(&b);
    let Ok(j) = b.join(reference) else { return };
    fixed_point(&j);
    let r = reference.split('#').next().unwrap_or("");
    if !has_scheme(r) {
        assert_eq!(
            j.is_https(),
            b.is_https(),
            "{reference:?} changed the scheme"
        );
        if !r.starts_with("//") {
            assert_eq!(
                authority(&j),
                authority(&b),
                "{reference:?} changed the host"
            );
        }
    }
    if !r.is_empty() && !has_scheme(r) && !r.starts_with("//") {
        let s = j.as_string();
        let path = s[s.find("://").unwrap() + 3..].split('?').next().unwrap();
        let path = &path[path.find('/').unwrap_or(path.len())..];
        assert!(
            !path.split('/').any(|seg| seg == "." || seg == ".."),
            "{reference:?} against {base:?} left a dot segment: {s}"
        );
    }
});
