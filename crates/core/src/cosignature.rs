//! C2SP tlog-cosignature, Ed25519 `cosignature/v1` (signature type 0x04): a witness's statement
//! "as of time T, this is the largest consistent tree I have seen for this origin".
//!
//! Signature bytes (after the 4-byte key id): `timestamp (u64 big-endian) ‖ Ed25519 signature (64)`.
//! Signed message: `"cosignature/v1\n" ‖ "time <decimal>\n" ‖ <checkpoint text>`.
//!
//! A witness keeps an ordinary Go `PRIVATE+KEY+...` (type 0x01) key file, as transparency-dev's
//! `NewSignerForCosignatureV1` does; its cosigner identity is the same Ed25519 key under type 0x04,
//! so the key id differs from the key's id as a note signer. The message does not bind the cosigner
//! name, so one Ed25519 key must never serve two cosigners (spec, "Ed25519 signed message").
//!
//! The note module verifies through its `Verifier` trait and knows nothing of cosignatures; this
//! module implements that trait for [`VerifierKey`], so a note opened with a witness's 0x04 key
//! checks its cosignature here and reports the time it states.

use crate::ed25519;
use crate::note::{
    self, ALG_COSIGNATURE_V1, ALG_ED25519, NoteSignature, SignerKey, Verifier, VerifierKey, key_id,
};
use thiserror::Error;

/// Largest valid timestamp: the spec says it MUST NOT exceed 2^63 − 1.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;
/// Length of a cosignature after the key id: timestamp and Ed25519 signature.
pub const SIGNATURE_LEN: usize = 8 + 64;

/// Errors when making a cosignature.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CosignatureError {
    /// [`sign`] was asked to cosign at a timestamp above [`MAX_TIMESTAMP`], which the spec forbids
    /// and verifiers refuse. Holds the timestamp.
    #[error("cosignature timestamp {0} is larger than 2^63-1")]
    TimestampTooLarge(u64),
}

/// The exact bytes a `cosignature/v1` signs.
pub fn message(checkpoint_text: &str, timestamp: u64) -> Vec<u8> {
    message_bytes(checkpoint_text.as_bytes(), timestamp)
}

fn message_bytes(checkpoint_text: &[u8], timestamp: u64) -> Vec<u8> {
    // `u64`'s Display is plain ASCII decimal without leading zeros, as the spec requires.
    let header = format!("cosignature/v1\ntime {timestamp}\n");
    let mut out = Vec::with_capacity(header.len() + checkpoint_text.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(checkpoint_text);
    out
}

/// Cosigns `checkpoint_text` (the note text, final newline included, no signature lines) at
/// `timestamp` (POSIX seconds). The caller is the witness: it must have checked the checkpoint and
/// its consistency before it makes this statement.
pub fn sign(
    signer: &SignerKey,
    checkpoint_text: &str,
    timestamp: u64,
) -> Result<NoteSignature, CosignatureError> {
    if timestamp > MAX_TIMESTAMP {
        return Err(CosignatureError::TimestampTooLarge(timestamp));
    }
    let ed = signer.sign_raw(&message(checkpoint_text, timestamp));
    let mut sig = Vec::with_capacity(SIGNATURE_LEN);
    sig.extend_from_slice(&timestamp.to_be_bytes());
    sig.extend_from_slice(&ed);
    Ok(NoteSignature {
        name: signer.name().to_owned(),
        id: key_id(signer.name(), ALG_COSIGNATURE_V1, &signer.public_key()),
        sig,
    })
}

/// The verifier key (type 0x04) a witness publishes for `signer`; its base64 starts with `B`.
pub fn verifier_key(signer: &SignerKey) -> VerifierKey {
    let public_key = signer.public_key();
    VerifierKey {
        name: signer.name().to_owned(),
        id: key_id(signer.name(), ALG_COSIGNATURE_V1, &public_key),
        alg: ALG_COSIGNATURE_V1,
        public_key,
    }
}

/// The timestamp of a cosignature (the bytes after the key id), if it is well formed: exactly
/// 72 bytes and a timestamp of at most 2^63 − 1.
pub fn timestamp(sig: &[u8]) -> Option<u64> {
    if sig.len() != SIGNATURE_LEN {
        return None;
    }
    let ts = u64::from_be_bytes(sig.get(..8)?.try_into().ok()?);
    (ts <= MAX_TIMESTAMP).then_some(ts)
}

/// Verifies a cosignature over `checkpoint_text` by `public_key`; returns its timestamp if valid.
pub fn verify(public_key: &[u8; 32], checkpoint_text: &[u8], sig: &[u8]) -> Option<u64> {
    let ts = timestamp(sig)?;
    let ed = sig.get(8..)?;
    ed25519::verify(public_key, &message_bytes(checkpoint_text, ts), ed).then_some(ts)
}

/// Verifier keys check their signatures by type: Ed25519 note signatures (0x01, a log's) over the
/// note text, cosignatures (0x04, a witness's) over this module's timestamped message. A key of
/// another type verifies nothing.
impl Verifier for VerifierKey {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, text: &[u8], sig: &[u8]) -> bool {
        match self.alg {
            ALG_ED25519 => note::verify_ed25519(&self.public_key, text, sig),
            ALG_COSIGNATURE_V1 => verify(&self.public_key, text, sig).is_some(),
            _ => false,
        }
    }
    fn signed_time(&self, sig: &[u8]) -> Option<u64> {
        match self.alg {
            ALG_COSIGNATURE_V1 => timestamp(sig),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b64;
    use crate::ed25519::Seed;

    const CHECKPOINT: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    fn witness() -> SignerKey {
        SignerKey::from_seed("witness.example.com/w1", Seed([9; 32])).unwrap()
    }

    #[test]
    fn message_matches_the_spec_example() {
        assert_eq!(
            message(CHECKPOINT, 1679315147),
            b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
        assert!(message(CHECKPOINT, 0).starts_with(b"cosignature/v1\ntime 0\n"));
    }

    #[test]
    fn spec_example_signature_framing() {
        // The spec's example line (no public key is published for it): key id 8d66cf3f, timestamp
        // 1679315147, 64 signature bytes.
        let raw = b64::decode("jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==").unwrap();
        assert_eq!(raw.len(), 4 + SIGNATURE_LEN);
        assert_eq!(raw[..4], [0x8d, 0x66, 0xcf, 0x3f]);
        assert_eq!(timestamp(&raw[4..]), Some(1679315147));
    }

    #[test]
    fn sign_and_verify() {
        let w = witness();
        let s = sign(&w, CHECKPOINT, 1679315147).unwrap();
        let v = verifier_key(&w);
        assert_eq!(s.name, "witness.example.com/w1");
        assert_eq!(s.id, v.id);
        assert_eq!(s.sig.len(), SIGNATURE_LEN);
        assert_eq!(timestamp(&s.sig), Some(1679315147));
        assert_eq!(
            verify(&v.public_key, CHECKPOINT.as_bytes(), &s.sig),
            Some(1679315147)
        );
        assert!(v.verify(CHECKPOINT.as_bytes(), &s.sig));
        // Over another checkpoint, at another time, or truncated, it fails.
        let other = CHECKPOINT.replace("20852163", "20852164");
        assert_eq!(verify(&v.public_key, other.as_bytes(), &s.sig), None);
        let mut moved = s.sig.clone();
        moved[7] ^= 1;
        assert_eq!(verify(&v.public_key, CHECKPOINT.as_bytes(), &moved), None);
        assert_eq!(
            verify(&v.public_key, CHECKPOINT.as_bytes(), &s.sig[..71]),
            None
        );
    }

    #[test]
    fn key_ids_differ_by_type() {
        let w = witness();
        let v4 = verifier_key(&w);
        let v1 = w.verifier_key();
        assert_eq!(v4.public_key, v1.public_key);
        assert_eq!(v4.alg, ALG_COSIGNATURE_V1);
        assert_eq!(v1.alg, ALG_ED25519);
        assert_ne!(v4.id, v1.id);
        let text = v4.to_string();
        assert!(text.split('+').nth(2).unwrap().starts_with('B'), "{text}");
        assert_eq!(VerifierKey::parse(&text).unwrap(), v4);
        // A cosignature is not a note signature and vice versa: the messages differ.
        let cosig = sign(&w, CHECKPOINT, 5).unwrap();
        assert!(!v1.verify(CHECKPOINT.as_bytes(), &cosig.sig[8..]));
        let plain = w.sign(CHECKPOINT);
        let mut forged = 5u64.to_be_bytes().to_vec();
        forged.extend_from_slice(&plain.sig);
        assert!(!v4.verify(CHECKPOINT.as_bytes(), &forged));
    }

    #[test]
    fn timestamps_above_i64_max_are_invalid() {
        let w = witness();
        assert_eq!(
            sign(&w, CHECKPOINT, MAX_TIMESTAMP + 1),
            Err(CosignatureError::TimestampTooLarge(MAX_TIMESTAMP + 1))
        );
        let s = sign(&w, CHECKPOINT, MAX_TIMESTAMP).unwrap();
        assert_eq!(timestamp(&s.sig), Some(MAX_TIMESTAMP));
        // A signature that really signs time 2^63 is still refused by the verifier.
        let ts = MAX_TIMESTAMP + 1;
        let ed = w.sign_raw(&message(CHECKPOINT, ts));
        let mut sig = ts.to_be_bytes().to_vec();
        sig.extend_from_slice(&ed);
        assert_eq!(timestamp(&sig), None);
        assert_eq!(verify(&w.public_key(), CHECKPOINT.as_bytes(), &sig), None);
    }

    #[test]
    fn open_reports_cosignature_timestamps() {
        let log = SignerKey::from_seed("example.com/behind-the-sofa", Seed([1; 32])).unwrap();
        let w = witness();
        let mut n = note::parse(&note::sign(CHECKPOINT, &[&log]).unwrap()).unwrap();
        n.signatures.push(sign(&w, CHECKPOINT, 42).unwrap());
        let opened = note::open(&n.to_bytes(), &[log.verifier_key(), verifier_key(&w)]).unwrap();
        assert_eq!(
            opened.verified,
            vec![
                note::Verified {
                    verifier: 0,
                    timestamp: None
                },
                note::Verified {
                    verifier: 1,
                    timestamp: Some(42)
                }
            ]
        );
    }
}
