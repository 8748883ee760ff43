//! Percent-encoding (RFC 3986 section 2.1) for URLs in query strings and file names in URL paths.

/// Strict percent-decoding: `%XX` (two hex digits) is the only escape, `+` is a literal plus, and the
/// result must be UTF-8. Anything else is refused rather than guessed at: two decoders that disagree
/// on one URL would let one submission be logged under a URL its submitter did not mean.
pub fn percent_decode(s: &str) -> Result<String, &'static str> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = bytes.next().and_then(hex_digit);
            let lo = bytes.next().and_then(hex_digit);
            match (hi, lo) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => return Err("invalid percent-escape (expected %XX with two hex digits)"),
            }
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).map_err(|_| "percent-decoded value is not UTF-8")
}

/// The value of one hex digit, either case.
pub fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`), so the
/// result is safe as a query value or a path segment.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_strictness() {
        let s = "https://a.example/rel v1/é+x?y=1";
        assert_eq!(percent_decode(&percent_encode(s)).unwrap(), s);
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
        assert_eq!(percent_decode("a+b%2b").unwrap(), "a+b+");
        assert!(percent_decode("%zz").is_err());
        assert!(percent_decode("%4").is_err());
        assert!(percent_decode("%ff").is_err(), "not UTF-8");
    }
}
