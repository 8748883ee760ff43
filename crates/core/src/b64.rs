//! Standard base64 (RFC 4648 section 4, with padding), canonical only.
//!
//! signed-note requires one encoding per value: a signature or key with non-zero trailing bits or
//! missing padding is a different string for the same bytes, which would let a log or a witness produce
//! two spellings of one note. The `base64` crate's STANDARD engine rejects both.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Encodes with padding.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes canonical padded base64; `None` for anything else (whitespace, URL-safe alphabet,
/// missing or extra padding, non-zero trailing bits).
pub fn decode(s: &str) -> Option<Vec<u8>> {
    let v = STANDARD.decode(s).ok()?;
    // Belt and braces: the round trip must give back exactly the input.
    if STANDARD.encode(&v) != s {
        return None;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_only() {
        assert_eq!(decode("AQI="), Some(vec![1, 2]));
        assert_eq!(decode("AQJ="), None, "non-zero trailing bits");
        assert_eq!(decode("AQI"), None, "missing padding");
        assert_eq!(decode("AQI= "), None);
        assert_eq!(decode("-_8="), None, "URL-safe alphabet");
        assert_eq!(decode(""), Some(vec![]));
        assert_eq!(encode(&[1, 2]), "AQI=");
    }
}
