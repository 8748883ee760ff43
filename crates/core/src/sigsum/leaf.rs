//! The Sigsum leaf: what a submitter signs and a Sigsum log records.
//!
//! ```text
//! message   = SHA-256(data)            (32 bytes; with sigsum-submit --raw-hash, the data itself)
//! checksum  = SHA-256(message)
//! signature = Ed25519(submitter key, "sigsum.org/v1/tree-leaf" ‖ 0x00 ‖ checksum)
//! key_hash  = SHA-256(submitter's raw 32-byte public key)
//! leaf      = checksum ‖ signature ‖ key_hash            (128 bytes)
//! ```
//!
//! The log stores the checksum, never the message or the data: what a leaf binds is "the holder of
//! this key signed this 32-byte message". It names no file, no URL and no version; whoever verifies
//! must bring the data (and so the message) themselves.

use super::{key_hash, namespaced};
use crate::digest::{Hash, sha256};
use crate::ed25519::{self, Seed};
use crate::merkle;

/// Namespace of leaf signatures.
pub const NAMESPACE: &str = "sigsum.org/v1/tree-leaf";
/// Length of an encoded leaf.
pub const LEAF_LEN: usize = 128;

/// A Sigsum leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// SHA-256 of the signed message (the message is SHA-256 of the data).
    pub checksum: Hash,
    /// The submitter's Ed25519 signature over [`signed_data`] of the checksum.
    pub signature: [u8; 64],
    /// SHA-256 of the submitter's raw 32-byte public key.
    pub key_hash: Hash,
}

/// The checksum a leaf records for `message`.
pub fn checksum(message: &Hash) -> Hash {
    sha256(&message.0)
}

/// The bytes a leaf signature covers.
pub fn signed_data(checksum: &Hash) -> Vec<u8> {
    namespaced(NAMESPACE, &checksum.0)
}

impl Leaf {
    /// Signs `message` (SHA-256 of the data) with `seed`: the leaf a submitter sends to a log.
    pub fn sign(seed: &Seed, message: &Hash) -> Leaf {
        let checksum = checksum(message);
        Leaf {
            checksum,
            signature: seed.sign(&signed_data(&checksum)),
            key_hash: key_hash(&seed.public_key()),
        }
    }

    /// Whether `public_key` is this leaf's key (by key hash) and signed its checksum.
    pub fn verify(&self, public_key: &[u8; 32]) -> bool {
        key_hash(public_key) == self.key_hash
            && ed25519::verify(public_key, &signed_data(&self.checksum), &self.signature)
    }

    /// The 128-byte encoding the log hashes.
    pub fn to_bytes(&self) -> [u8; LEAF_LEN] {
        let mut b = [0u8; LEAF_LEN];
        b[..32].copy_from_slice(&self.checksum.0);
        b[32..96].copy_from_slice(&self.signature);
        b[96..].copy_from_slice(&self.key_hash.0);
        b
    }

    /// Decodes a 128-byte leaf (as a log's `get-leaves` returns them).
    pub fn from_bytes(b: &[u8; LEAF_LEN]) -> Leaf {
        let mut checksum = [0u8; 32];
        let mut signature = [0u8; 64];
        let mut key = [0u8; 32];
        checksum.copy_from_slice(&b[..32]);
        signature.copy_from_slice(&b[32..96]);
        key.copy_from_slice(&b[96..]);
        Leaf {
            checksum: Hash(checksum),
            signature,
            key_hash: Hash(key),
        }
    }

    /// The RFC 6962 leaf hash, `SHA-256(0x00 ‖ leaf)`: what inclusion proofs prove.
    pub fn merkle_hash(&self) -> Hash {
        merkle::leaf_hash(&self.to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_leaf_verifies() {
        // The leaf of the proof published with the `sigsum` crate: signer key 99ed5858…, message
        // SHA-256("Hello, Sigsum!\n"); key hash and signature are its `leaf=` line.
        let key: [u8; 32] =
            hex::decode("99ed58583e8750b20548e69df4a4e1a592379a9a66c51cd32e42fbe4e1bde78a")
                .unwrap()
                .try_into()
                .unwrap();
        let leaf = Leaf {
            checksum: checksum(&sha256(b"Hello, Sigsum!\n")),
            signature: hex::decode("38dd0b42cab5166611a4f8346db1c6ffe81ee2345f3ffe36a466eb8fce1d4b2879fbb5f26291d25e610b2dc7f30eaa603efd97739ae585657d0f7181726eec00").unwrap().try_into().unwrap(),
            key_hash: Hash::from_hex("2c8d843ed6237e9ea033207113329fdd1428c75f8fd3c6782ae46c92c7a00c40").unwrap(),
        };
        assert!(leaf.verify(&key));
        let other = Leaf {
            checksum: checksum(&sha256(b"Hello, Sigsum?\n")),
            ..leaf
        };
        assert!(!other.verify(&key));
        assert!(!leaf.verify(&Seed([1; 32]).public_key()));
    }

    #[test]
    fn signing_encoding_and_hash() {
        let seed = Seed([9; 32]);
        let msg = sha256(b"data");
        let leaf = Leaf::sign(&seed, &msg);
        assert!(leaf.verify(&seed.public_key()));
        assert_eq!(leaf.checksum, sha256(&msg.0));
        assert_eq!(Leaf::from_bytes(&leaf.to_bytes()), leaf);
        let mut framed = vec![0u8];
        framed.extend_from_slice(&leaf.to_bytes());
        assert_eq!(leaf.merkle_hash(), sha256(&framed));
        assert_eq!(
            signed_data(&leaf.checksum)[..24],
            *b"sigsum.org/v1/tree-leaf\0"
        );
    }
}
