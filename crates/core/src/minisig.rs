//! Publisher signatures made by the real `minisign` tool, verified with `minisign-verify`.
//!
//! minisign signs either the BLAKE2b-512 hash of the file ("prehashed", algorithm `ED`, the default
//! since minisign 0.10) or the file itself ("legacy", `Ed`). Only prehashed signatures are accepted,
//! everywhere: legacy verification must hold the whole file in memory and cannot stream, and every
//! minisign since 0.10 makes prehashed ones. The trusted comment is covered by the global signature; `minisign-verify` checks it but
//! does not interpret it, so callers that need it read it from [`Verified::trusted_comment`] and
//! interpret it with `trusted_comment` (the file it names, the URL it binds).

use crate::b64;

/// Largest `.minisig` or `.pub` text we read: the real ones are under 500 bytes; trusted comments are
/// one line. Anything bigger is not a minisign file.
pub const MAX_FILE: usize = 16 * 1024;

/// Errors from parsing or verifying minisign data. Messages are one line and name the problem.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MinisigError {
    /// The public key or signature text is longer than [`MAX_FILE`] bytes, so it is no minisign
    /// file; refused before any parsing.
    #[error("minisign {what} is larger than {max} bytes")]
    TooLarge {
        /// Which text was too large: `"public key"` or `"signature"`.
        what: &'static str,
        /// The limit in bytes ([`MAX_FILE`]).
        max: usize,
    },
    /// The public key text has no key line (empty, or only an untrusted comment), has lines beyond
    /// the optional comment and the key line, its key line is not base64 of 42 bytes, its algorithm
    /// is not `Ed`, or `minisign-verify` rejects it. Holds which of these.
    #[error("minisign public key is malformed: {0}")]
    BadPublicKey(&'static str),
    /// The `.minisig` text is not exactly four lines (untrusted comment, signature line, trusted
    /// comment, global signature), its signature line is not base64 of 74 bytes with algorithm `ED`
    /// or `Ed`, or `minisign-verify` rejects it. Holds which of these.
    #[error("minisign signature is malformed: {0}")]
    BadSignature(&'static str),
    /// The key ID in the signature differs from the trusted key's ID: the signature was made by
    /// another key (or names one), so it is not checked further.
    #[error("signature was made by key {signature_key}, not by the trusted key {trusted_key}")]
    WrongKey {
        /// The key ID the signature names, as `minisign` prints it (unauthenticated).
        signature_key: String,
        /// The trusted public key's ID, as `minisign` prints it.
        trusted_key: String,
    },
    /// The signature is legacy (algorithm `Ed`, over the whole file rather than its BLAKE2b-512
    /// hash), which cannot be verified in constant memory; rget refuses it everywhere.
    #[error(
        "signature uses the legacy (non-prehashed) minisign format, which is refused (sign with `minisign -S`, prehashed by default since minisign 0.11)"
    )]
    LegacyRefused,
    /// The key IDs match but the signature over the data, or the global signature over the
    /// signature and its trusted comment, does not verify. Holds the key ID as `minisign` prints it.
    #[error(
        "minisign signature by key {0} does not verify: the file or its trusted comment was changed"
    )]
    Invalid(String),
}

/// A minisign public key and its key ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    inner: minisign_verify::PublicKey,
    key_id: [u8; 8],
}

/// A parsed `.minisig` signature.
#[derive(Clone)]
pub struct Signature {
    inner: minisign_verify::Signature,
    key_id: [u8; 8],
    prehashed: bool,
}

/// What a valid signature tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The signing key's ID, as `minisign` prints it (uppercase hex, no leading zeros).
    pub key_id: String,
    /// The trusted comment (signed), without the `trusted comment: ` prefix.
    pub trusted_comment: String,
}

/// minisign prints key IDs as a little-endian u64 in uppercase hex without leading zeros
/// (`printf("%" PRIX64)` in minisign.c), so that is how we print them too: a user compares the ID in
/// our output with the one in their `.pub` file by eye. Every rget command prints key IDs through
/// this one function (`rget keygen` too), so one key never shows two spellings.
pub fn format_key_id(id: &[u8; 8]) -> String {
    format!("{:X}", u64::from_le_bytes(*id))
}

/// Decodes the base64 blob of a key or signature line: `alg(2) ‖ key_id(8) ‖ rest`.
fn decode_blob(line: &str, len: usize) -> Option<([u8; 2], [u8; 8])> {
    let bin = b64::decode(line.trim_end_matches('\r'))?;
    if bin.len() != len {
        return None;
    }
    let alg = [bin[0], bin[1]];
    let mut id = [0u8; 8];
    id.copy_from_slice(&bin[2..10]);
    Some((alg, id))
}

impl PublicKey {
    /// Parses a minisign public key: either a whole `.pub` file (`untrusted comment: …` line, then the
    /// base64 line) or just the base64 line, as `minisign -P` takes it.
    pub fn parse(text: &str) -> Result<PublicKey, MinisigError> {
        if text.len() > MAX_FILE {
            return Err(MinisigError::TooLarge {
                what: "public key",
                max: MAX_FILE,
            });
        }
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let first = lines.next().ok_or(MinisigError::BadPublicKey("empty"))?;
        let b64_line = if first.starts_with("untrusted comment:") {
            lines
                .next()
                .ok_or(MinisigError::BadPublicKey("no key line after the comment"))?
        } else {
            first
        };
        if lines.next().is_some() {
            return Err(MinisigError::BadPublicKey("unexpected extra lines"));
        }
        let (alg, key_id) = decode_blob(b64_line, 42)
            .ok_or(MinisigError::BadPublicKey("not 42 bytes of base64"))?;
        // Public keys always carry "Ed" (the algorithm of the key, not of the signature).
        if alg != *b"Ed" {
            return Err(MinisigError::BadPublicKey("unknown key algorithm"));
        }
        let inner = minisign_verify::PublicKey::from_base64(b64_line)
            .map_err(|_| MinisigError::BadPublicKey("rejected by minisign-verify"))?;
        Ok(PublicKey { inner, key_id })
    }

    /// The key ID as `minisign` prints it.
    pub fn key_id(&self) -> String {
        format_key_id(&self.key_id)
    }
}

impl Signature {
    /// Parses a `.minisig` file: untrusted comment, signature, trusted comment, global signature.
    pub fn parse(text: &str) -> Result<Signature, MinisigError> {
        if text.len() > MAX_FILE {
            return Err(MinisigError::TooLarge {
                what: "signature",
                max: MAX_FILE,
            });
        }
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() < 4 || lines[4..].iter().any(|l| !l.trim().is_empty()) {
            return Err(MinisigError::BadSignature("expected exactly 4 lines"));
        }
        if !lines[0].starts_with("untrusted comment:") {
            return Err(MinisigError::BadSignature(
                "first line is not an untrusted comment",
            ));
        }
        if !lines[2].starts_with("trusted comment: ") {
            return Err(MinisigError::BadSignature(
                "third line is not a trusted comment",
            ));
        }
        let (alg, key_id) = decode_blob(lines[1], 74).ok_or(MinisigError::BadSignature(
            "signature line is not 74 bytes of base64",
        ))?;
        let prehashed = match &alg {
            b"ED" => true,
            b"Ed" => false,
            _ => return Err(MinisigError::BadSignature("unknown signature algorithm")),
        };
        let inner = minisign_verify::Signature::decode(text)
            .map_err(|_| MinisigError::BadSignature("rejected by minisign-verify"))?;
        Ok(Signature {
            inner,
            key_id,
            prehashed,
        })
    }

    /// The ID of the key that claims to have made this signature (unauthenticated until verified).
    pub fn key_id(&self) -> String {
        format_key_id(&self.key_id)
    }

    /// Whether this is a legacy (non-prehashed) signature.
    pub fn is_legacy(&self) -> bool {
        !self.prehashed
    }
}

/// The signature is by `key`, and prehashed. Legacy signatures hash nothing first, so verifying one
/// takes the whole file in memory, and minisign has not made them by default since 0.11: rget
/// refuses them everywhere.
fn check_key(key: &PublicKey, sig: &Signature) -> Result<(), MinisigError> {
    if key.key_id != sig.key_id {
        return Err(MinisigError::WrongKey {
            signature_key: sig.key_id(),
            trusted_key: key.key_id(),
        });
    }
    if !sig.prehashed {
        return Err(MinisigError::LegacyRefused);
    }
    Ok(())
}

fn verified(key: &PublicKey, sig: &Signature) -> Verified {
    Verified {
        key_id: key.key_id(),
        trusted_comment: sig.inner.trusted_comment().to_string(),
    }
}

/// Verifies the prehashed signature `sig` over `data` with `key`; a legacy signature is refused.
pub fn verify(key: &PublicKey, sig: &Signature, data: &[u8]) -> Result<Verified, MinisigError> {
    check_key(key, sig)?;
    key.inner
        .verify(data, &sig.inner, false)
        .map_err(|_| MinisigError::Invalid(key.key_id()))?;
    Ok(verified(key, sig))
}

/// Verifies a prehashed signature over data that arrives in pieces (constant memory).
pub struct StreamVerifier<'a> {
    key: &'a PublicKey,
    sig: &'a Signature,
    inner: minisign_verify::StreamVerifier<'a>,
}

impl<'a> StreamVerifier<'a> {
    /// Starts a streaming verification. Legacy signatures cannot stream and are refused.
    pub fn new(key: &'a PublicKey, sig: &'a Signature) -> Result<Self, MinisigError> {
        check_key(key, sig)?;
        let inner = key
            .inner
            .verify_stream(&sig.inner)
            .map_err(|_| MinisigError::LegacyRefused)?;
        Ok(StreamVerifier { key, sig, inner })
    }
    /// Feeds the next piece of the signed data.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }
    /// Checks the signature over everything fed.
    pub fn finalize(mut self) -> Result<Verified, MinisigError> {
        self.inner
            .finalize()
            .map_err(|_| MinisigError::Invalid(self.key.key_id()))?;
        Ok(verified(self.key, self.sig))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Signatures by the real `minisign` tool are tested in tests/interop/minisign.rs (the C tool) and with the
    // `minisign` crate across tests/client/.
    #[test]
    fn key_id_format() {
        assert_eq!(format_key_id(&[1, 2, 3, 4, 5, 6, 7, 8]), "807060504030201");
        assert_eq!(
            format_key_id(&[0xff, 0, 0, 0, 0, 0, 0, 0x1d]),
            "1D000000000000FF"
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(PublicKey::parse("").is_err());
        assert!(PublicKey::parse("untrusted comment: x\n").is_err());
        assert!(PublicKey::parse("RWQ=").is_err());
        assert!(
            Signature::parse("untrusted comment: x\nRWQ=\ntrusted comment: y\nAAAA\n").is_err()
        );
        assert!(Signature::parse(&"x".repeat(MAX_FILE + 1)).is_err());
    }
}
