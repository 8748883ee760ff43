//! Sigsum: signed checksums logged in public Sigsum transparency logs, verified offline.
//!
//! A Sigsum log's tree head is a C2SP checkpoint (origin `sigsum.org/v1/tree/<hex key hash>`, signed
//! by the log as a signed note) and its witnesses cosign it with C2SP `cosignature/v1`, so this module
//! adds only what Sigsum defines itself and hands everything else to the rest of the core:
//!
//! - [`leaf`]: the 128-byte leaf (checksum, signature, key hash) and its Merkle leaf hash;
//! - [`proof`]: the proof file, `version=2` written, versions 1 and 2 read;
//! - [`policy`]: Sigsum policy files, parsed into the core's [`crate::policy::Policy`];
//! - [`builtin`]: the named policies compiled in;
//! - [`verify`]: the proof's tree head and cosignatures rebuilt as the checkpoint note the core's
//!   [`crate::policy::Policy::verify_checkpoint`] verifies (log signature, witness quorum), the
//!   leaf checked against the submitter keys, and the inclusion proof by [`crate::merkle`];
//! - [`token`]: the `Sigsum-Token` header that public logs use for rate limiting;
//! - [`api`]: the ASCII requests and answers of a Sigsum log's HTTP API (`add-leaf`,
//!   `get-tree-head`, `get-inclusion-proof`, `get-consistency-proof`, `get-leaves`), and the tree
//!   head as the checkpoint note it is;
//! - [`ascii`]: the strict `key=value` line reader the proof and the API answers share.
//!
//! Submitter keys are OpenSSH `ssh-ed25519` keys: see [`crate::openssh`].
//!
//! Sigsum names keys by their key hash, `SHA-256(raw 32-byte Ed25519 public key)`, everywhere: the
//! leaf's submitter, the proof's log, the cosigning witnesses.

pub mod api;
pub mod ascii;
pub mod builtin;
pub mod leaf;
pub mod policy;
pub mod proof;
pub mod token;
pub mod verify;

use crate::digest::{Hash, sha256};

/// Prefix of a Sigsum log's checkpoint origin; the rest is the log's key hash in lowercase hex.
pub const ORIGIN_PREFIX: &str = "sigsum.org/v1/tree/";

/// Sigsum's name for a key: SHA-256 of the raw Ed25519 public key.
pub fn key_hash(public_key: &[u8; 32]) -> Hash {
    sha256(public_key)
}

/// The checkpoint origin of the Sigsum log whose key hash is `log_key_hash`; it is also the log's
/// key name in signed notes and policies.
pub fn origin(log_key_hash: &Hash) -> String {
    format!("{ORIGIN_PREFIX}{}", log_key_hash.to_hex())
}

/// Whether `log` is a Sigsum log: an Ed25519 note key whose name, the checkpoint origin, is
/// `sigsum.org/v1/tree/<hex SHA-256 of that very key>`. Its proofs are Sigsum proofs (`SHA256SUMS.proof`)
/// and its API Sigsum's, whatever else it serves.
pub fn is_sigsum_log(log: &crate::policy::PolicyLog) -> bool {
    log.vkey.alg == crate::note::ALG_ED25519
        && log.vkey.name == origin(&key_hash(&log.vkey.public_key))
}

/// Ed25519 over `namespace ‖ 0x00 ‖ data`: Sigsum's domain separation, so that a signature made for
/// one purpose (a leaf, a submit token) can never be replayed as another.
pub(crate) fn namespaced(namespace: &str, data: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(namespace.len() + 1 + data.len());
    m.extend_from_slice(namespace.as_bytes());
    m.push(0);
    m.extend_from_slice(data);
    m
}

/// Parses exactly `2 * N` lowercase hex digits. Sigsum's tools write lowercase; refusing uppercase
/// gives each proof one spelling, so a proof can be compared and stored byte for byte.
pub(crate) fn lower_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        *o = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_of_the_test_log() {
        // The log of the published proof in the tests: its key hash is the proof's `log=` line.
        let key = hex::decode("47e481606d8acba747a6b053d6c2d191605fb122175d410a1202a91430abce39")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(
            origin(&key_hash(&key)),
            "sigsum.org/v1/tree/1643169b32bef33a3f54f8a353b87c475d19b6223cbb106390d10a29978e1cba"
        );
    }

    #[test]
    fn hex_is_lowercase_and_exact() {
        assert_eq!(lower_hex::<2>("0aff"), Some([0x0a, 0xff]));
        assert_eq!(lower_hex::<2>("0AFF"), None);
        assert_eq!(lower_hex::<2>("0af"), None);
        assert_eq!(lower_hex::<2>("0aff0"), None);
        assert_eq!(lower_hex::<2>("+aff"), None);
        assert_eq!(lower_hex::<1>(" a"), None);
    }
}
