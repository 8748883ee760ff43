//! Ed25519 (RFC 8032) for signed notes and cosignatures, in one place so that the rest of the core never
//! touches a curve library directly.
//!
//! Verification is `ed25519-dalek`'s `verify`: it rejects non-canonical `S` (s >= L) and checks the
//! cofactorless equation, which is what Go's `crypto/ed25519` does. Every verifier of one log must agree
//! on which signatures are valid, or a crafted signature could split them; agreeing with the Go ecosystem
//! (sumdb, Sunlight, Tessera, the public witnesses) is what matters here.

use ed25519_dalek::{Signer as _, Verifier as _};
use std::fmt;

/// A 32-byte Ed25519 private seed. Its bytes never appear in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed(pub [u8; 32]);

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(..)")
    }
}

impl Drop for Seed {
    fn drop(&mut self) {
        // Best effort: the seed should not outlive its use in freed memory.
        self.0 = [0u8; 32];
    }
}

impl Seed {
    /// A fresh seed from the operating system's CSPRNG.
    pub fn generate() -> Result<Seed, getrandom::Error> {
        let mut s = [0u8; 32];
        getrandom::fill(&mut s)?;
        Ok(Seed(s))
    }

    /// The public key for this seed.
    pub fn public_key(&self) -> [u8; 32] {
        ed25519_dalek::SigningKey::from_bytes(&self.0)
            .verifying_key()
            .to_bytes()
    }

    /// Signs `msg` (pure Ed25519, no prehash).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        ed25519_dalek::SigningKey::from_bytes(&self.0)
            .sign(msg)
            .to_bytes()
    }
}

/// Verifies an Ed25519 signature. Any malformed key or signature is simply "not valid".
pub fn verify(public_key: &[u8; 32], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(sig) = <[u8; 64]>::try_from(sig) else {
        return false;
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    key.verify(msg, &ed25519_dalek::Signature::from_bytes(&sig))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_1() {
        // RFC 8032 section 7.1, TEST 1 (empty message).
        let seed = Seed(
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap(),
        );
        let pk = seed.public_key();
        assert_eq!(
            hex::encode(pk),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = seed.sign(b"");
        assert_eq!(
            hex::encode(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(verify(&pk, b"", &sig));
        assert!(!verify(&pk, b"x", &sig));
        assert!(!verify(&pk, b"", &sig[..63]));
        let mut bad = sig;
        bad[10] ^= 1;
        assert!(!verify(&pk, b"", &bad));
    }

    #[test]
    fn generated_keys_differ_and_work() {
        let a = Seed::generate().unwrap();
        let b = Seed::generate().unwrap();
        assert_ne!(a.public_key(), b.public_key());
        assert!(verify(&a.public_key(), b"m", &a.sign(b"m")));
        assert!(!verify(&b.public_key(), b"m", &a.sign(b"m")));
    }
}
