//! The `Sigsum-Token` header: how a submitter shows a public Sigsum log which domain its submissions
//! count against (rate limiting).
//!
//! ```text
//! Sigsum-Token: <domain> <hex Ed25519 signature>
//! signature = Ed25519(token key, "sigsum.org/v1/submit-token" ‖ 0x00 ‖ log's raw 32-byte public key)
//! ```
//!
//! The log looks up the token key in DNS (`TXT _sigsum_v1.<domain>`, the key in hex) and checks the
//! signature. The token is bound to one log (its key is what is signed), so a token seen by one log
//! cannot be spent at another; it is not bound to a submission, and is as public as the header that
//! carries it: it identifies, it does not authorise anything beyond the domain's rate.

use super::namespaced;
use crate::ed25519::{self, Seed};
use thiserror::Error;

/// Namespace of token signatures.
pub const NAMESPACE: &str = "sigsum.org/v1/submit-token";
/// The HTTP header carrying a token.
pub const HEADER: &str = "Sigsum-Token";
/// The DNS label under which a domain publishes its token keys.
pub const DNS_LABEL: &str = "_sigsum_v1";

/// Errors in a token header value or its domain.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenError {
    /// The domain is not lowercase ASCII LDH labels (see [`valid_domain`]); holds the start of it,
    /// escaped.
    #[error(
        "token domain {0:?} is not a lowercase ASCII domain name (letters, digits, '-', '.'; give an internationalised name in its xn-- form)"
    )]
    BadDomain(String),
    /// The header value has no space, or its signature is not 128 lowercase hex digits.
    #[error("Sigsum-Token value is not \"<domain> <128 lowercase hex digits>\"")]
    Syntax,
}

/// A token: the domain and the signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmitToken {
    /// The domain whose DNS publishes the token key (and whose rate the submissions count against).
    pub domain: String,
    /// The token key's Ed25519 signature over the namespaced log public key.
    pub signature: [u8; 64],
}

/// A DNS name the header can carry: lowercase LDH labels of 1 to 63 characters, not starting or
/// ending in '-', at most 253 characters, no trailing dot. (Sigsum's tools normalise Unicode names;
/// asking for the A-label form keeps this pure and table-free.)
pub fn valid_domain(d: &str) -> bool {
    d.len() <= 253
        && d.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

impl SubmitToken {
    /// Makes the token for submissions by `domain` to the log with public key `log_key`, signed with
    /// the token key `seed` (whose public key the domain publishes in DNS).
    pub fn sign(seed: &Seed, domain: &str, log_key: &[u8; 32]) -> Result<SubmitToken, TokenError> {
        if !valid_domain(domain) {
            return Err(TokenError::BadDomain(crate::note::snippet(domain)));
        }
        Ok(SubmitToken {
            domain: domain.to_owned(),
            signature: seed.sign(&namespaced(NAMESPACE, log_key)),
        })
    }

    /// Whether `token_key` signed this token for the log with public key `log_key`.
    pub fn verify(&self, token_key: &[u8; 32], log_key: &[u8; 32]) -> bool {
        ed25519::verify(token_key, &namespaced(NAMESPACE, log_key), &self.signature)
    }

    /// The header value, `<domain> <hex signature>`.
    pub fn header_value(&self) -> String {
        format!("{} {}", self.domain, hex::encode(self.signature))
    }

    /// Parses a header value (what a log receives).
    pub fn parse(value: &str) -> Result<SubmitToken, TokenError> {
        let (domain, sig) = value.split_once(' ').ok_or(TokenError::Syntax)?;
        if !valid_domain(domain) {
            return Err(TokenError::BadDomain(crate::note::snippet(domain)));
        }
        let signature = super::lower_hex::<64>(sig).ok_or(TokenError::Syntax)?;
        Ok(SubmitToken {
            domain: domain.to_owned(),
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_format_parse_verify() {
        let token_key = Seed([4; 32]);
        let log_key = Seed([5; 32]).public_key();
        let t = SubmitToken::sign(&token_key, "releases.example.org", &log_key).unwrap();
        let v = t.header_value();
        assert!(v.starts_with("releases.example.org "));
        assert_eq!(v.len(), "releases.example.org ".len() + 128);
        let back = SubmitToken::parse(&v).unwrap();
        assert_eq!(back, t);
        assert!(back.verify(&token_key.public_key(), &log_key));
        // Bound to the log: not valid for another log, nor by another key.
        assert!(!back.verify(&token_key.public_key(), &Seed([6; 32]).public_key()));
        assert!(!back.verify(&Seed([7; 32]).public_key(), &log_key));
        // The signed bytes are the namespace, NUL, and the log's raw key.
        let mut m = b"sigsum.org/v1/submit-token\0".to_vec();
        m.extend_from_slice(&log_key);
        assert_eq!(t.signature, token_key.sign(&m));
    }

    #[test]
    fn bad_domains_and_values() {
        let k = Seed([4; 32]);
        let log = [0u8; 32];
        for d in [
            "",
            "Example.org",
            "example.org.",
            "-a.example",
            "a-.example",
            "a..b",
            "bücher.example",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(
                matches!(
                    SubmitToken::sign(&k, d, &log),
                    Err(TokenError::BadDomain(_))
                ),
                "{d:?}"
            );
        }
        assert!(SubmitToken::sign(&k, "xn--bcher-kva.example", &log).is_ok());
        let good = SubmitToken::sign(&k, "a.example", &log)
            .unwrap()
            .header_value();
        for v in [
            good.replace(' ', "  "),
            good.to_uppercase(),
            format!("{good} "),
            good[..good.len() - 1].to_owned(),
            "a.example".to_owned(),
        ] {
            assert!(SubmitToken::parse(&v).is_err(), "{v:?}");
        }
    }
}
