//! Verifying a Sigsum proof for a message, under submitter keys and a policy.
//!
//! A Sigsum tree head is a C2SP checkpoint and its cosignatures are `cosignature/v1`, so the proof's
//! tree head block is rebuilt as the signed note the log and the witnesses actually signed, and that
//! note goes through [`Policy::verify_checkpoint`], the routine every checkpoint in rget goes
//! through: log signature, witness cosignatures, quorum. The inclusion proof goes through
//! [`merkle::verify_inclusion`]. What is Sigsum's own is only the leaf and the naming of keys by hash.
//!
//! Order of the checks (Sigsum's `doc/sigsum-proof.md`, "Verifying a proof"):
//! 1. checksum = SHA-256(message); a version 1 proof's checksum prefix must match it;
//! 2. the leaf's key hash must be one of the submitter keys, and that key must have signed the
//!    checksum;
//! 3. the tree head must be signed by the policy's log with the proof's key hash, and cosigned as the
//!    policy's quorum requires (cosignatures by witnesses outside the policy are ignored; an invalid
//!    one by a policy witness rejects the proof);
//! 4. the inclusion proof must lead from the leaf's hash at its index to the tree head's root.

use super::api::TreeHead;
use super::leaf::{self, Leaf};
use super::proof::SigsumProof;
use super::{key_hash, origin};
use crate::digest::Hash;
use crate::merkle::{self, MerkleError};
use crate::note::VerifierKey;
use crate::policy::{Policy, PolicyError, VerifiedCheckpoint};
use thiserror::Error;

/// Why a proof does not prove a message. Every variant is a verification failure: the proof parsed,
/// but does not show that this message was signed by these keys and logged under this policy.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SigsumError {
    /// A version 1 proof whose checksum prefix differs from this data's: the proof is another
    /// file's.
    #[error(
        "the proof is for other data: its leaf checksum starts with {proof}, this data's with {data}"
    )]
    OtherData {
        /// The proof's checksum prefix, in hex.
        proof: String,
        /// The first two bytes of this data's leaf checksum, in hex.
        data: String,
    },
    /// The leaf's key hash matches none of the submitter keys trusted for this data.
    #[error(
        "the leaf is signed by key hash {key_hash}, which is none of the {keys} submitter keys"
    )]
    UnknownSigner {
        /// The leaf's key hash.
        key_hash: Hash,
        /// How many submitter keys were tried.
        keys: usize,
    },
    /// The leaf signature by a trusted submitter key does not verify over this data's checksum.
    #[error(
        "the leaf signature by submitter key hash {key_hash} does not verify for this data (the proof is for other data, or was altered)"
    )]
    BadLeafSignature {
        /// The leaf's key hash.
        key_hash: Hash,
    },
    /// The proof names a log (by key hash) that the policy does not list.
    #[error("the tree head is from log key hash {key_hash}, which is not a log of the policy")]
    UnknownLog {
        /// The proof's log key hash.
        key_hash: Hash,
    },
    /// The tree head, as a checkpoint note, fails the policy: the log's signature or the witness
    /// quorum.
    #[error("tree head rejected: {0}")]
    TreeHead(PolicyError),
    /// The inclusion path does not lead from the leaf to the tree head's root.
    #[error("the inclusion proof does not tie the leaf to the tree head: {0}")]
    NotIncluded(MerkleError),
}

/// A proof that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The submitter key that signed the leaf.
    pub signer: [u8; 32],
    /// The leaf the proof includes: this data's checksum, the signature, the signer's key hash.
    pub leaf: Leaf,
    /// The leaf's index in the log.
    pub leaf_index: u64,
    /// The tree head as the checkpoint the policy accepted: origin, size, root, the policy's log
    /// (with its URL) and the witnesses whose cosignatures verified (policy names, timestamps).
    pub checkpoint: VerifiedCheckpoint,
}

/// The checkpoint text of a proof's tree head: what the log signed.
pub fn checkpoint_text(proof: &SigsumProof) -> String {
    proof.tree_head().checkpoint_text(&proof.log_key_hash)
}

/// The proof's tree head as a cosigned checkpoint note under `policy` ([`TreeHead::note`]): the
/// log's signature line, then one line per cosignature by a policy witness (matched by key hash),
/// in proof order. Cosignatures by witnesses the policy does not know are left out, as a note
/// verifier ignores unknown keys anyway.
///
/// Fails only if the proof's log is not in the policy: the note's signature lines carry key ids,
/// which need the log's public key.
pub fn checkpoint_note(proof: &SigsumProof, policy: &Policy) -> Result<Vec<u8>, SigsumError> {
    tree_head_note(&proof.log_key_hash, &proof.tree_head(), policy)
}

/// [`checkpoint_note`] for a tree head of the log with key hash `log_key_hash` (a `get-tree-head`
/// answer, or a proof's).
pub fn tree_head_note(
    log_key_hash: &Hash,
    tree_head: &TreeHead,
    policy: &Policy,
) -> Result<Vec<u8>, SigsumError> {
    let log = policy
        .log_for_origin(&origin(log_key_hash))
        .ok_or(SigsumError::UnknownLog {
            key_hash: *log_key_hash,
        })?;
    let witnesses: Vec<&VerifierKey> = policy.witnesses.iter().map(|w| &w.vkey).collect();
    Ok(tree_head.note(&log.vkey, &witnesses))
}

/// Verifies that `proof` shows `message` (normally SHA-256 of the data) signed by one of
/// `submitter_keys` and logged under `policy`. See the module documentation for the checks.
pub fn verify(
    message: &Hash,
    proof: &SigsumProof,
    submitter_keys: &[[u8; 32]],
    policy: &Policy,
) -> Result<VerifiedProof, SigsumError> {
    let checksum = leaf::checksum(message);
    if let Some(short) = proof.short_checksum
        && short != checksum.0[..2]
    {
        return Err(SigsumError::OtherData {
            proof: hex::encode(short),
            data: hex::encode(&checksum.0[..2]),
        });
    }
    let leaf = Leaf {
        checksum,
        signature: proof.leaf_signature,
        key_hash: proof.leaf_key_hash,
    };
    // Bitwise equality of key hashes (not of some decoded form of the keys), as Sigsum requires, so
    // that no second encoding of a key can stand in for it.
    let signer = *submitter_keys
        .iter()
        .find(|k| key_hash(k) == leaf.key_hash)
        .ok_or(SigsumError::UnknownSigner {
            key_hash: leaf.key_hash,
            keys: submitter_keys.len(),
        })?;
    if !leaf.verify(&signer) {
        return Err(SigsumError::BadLeafSignature {
            key_hash: leaf.key_hash,
        });
    }
    let note = checkpoint_note(proof, policy)?;
    let checkpoint = policy
        .verify_checkpoint(&note)
        .map_err(SigsumError::TreeHead)?;
    merkle::verify_inclusion(
        proof.leaf_index,
        proof.size,
        &leaf.merkle_hash(),
        &proof.path,
        &proof.root_hash,
    )
    .map_err(SigsumError::NotIncluded)?;
    Ok(VerifiedProof {
        signer,
        leaf,
        leaf_index: proof.leaf_index,
        checkpoint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosignature;
    use crate::digest::sha256;
    use crate::ed25519::Seed;
    use crate::merkle::MemoryTree;
    use crate::sigsum::policy;
    use crate::sigsum::proof::Cosignature;

    const TIME: u64 = 1_770_000_000;

    struct World {
        submitter: Seed,
        policy: Policy,
        proof: SigsumProof,
        message: Hash,
    }

    /// Leaf 3 of a tree of 7 other leaves and ours, cosigned by witnesses A and B of a 2-of-3 policy
    /// and by a witness the policy does not know.
    fn world() -> World {
        let submitter = Seed([1; 32]);
        let log = Seed([2; 32]);
        let w: Vec<Seed> = (0..4).map(|i| Seed([10 + i; 32])).collect();
        let policy = policy::parse(&format!(
            "log {}\nwitness A {}\nwitness B {}\nwitness C {}\ngroup g 2 A B C\nquorum g\n",
            hex::encode(log.public_key()),
            hex::encode(w[0].public_key()),
            hex::encode(w[1].public_key()),
            hex::encode(w[2].public_key()),
        ))
        .unwrap();
        let message = sha256(b"the data");
        let leaf = Leaf::sign(&submitter, &message);
        let mut tree = MemoryTree::new();
        for i in 0..8u8 {
            tree.append(if i == 3 {
                leaf.merkle_hash()
            } else {
                sha256(&[i])
            });
        }
        let mut proof = SigsumProof {
            log_key_hash: key_hash(&log.public_key()),
            short_checksum: None,
            leaf_key_hash: leaf.key_hash,
            leaf_signature: leaf.signature,
            size: 8,
            root_hash: tree.root(),
            signature: [0; 64],
            cosignatures: Vec::new(),
            leaf_index: 3,
            path: merkle::inclusion_proof(3, 8, &mut tree).unwrap(),
        };
        let text = checkpoint_text(&proof);
        proof.signature = log.sign(text.as_bytes());
        for s in [&w[3], &w[0], &w[1]] {
            proof.cosignatures.push(Cosignature {
                key_hash: key_hash(&s.public_key()),
                timestamp: TIME,
                signature: s.sign(&cosignature::message(&text, TIME)),
            });
        }
        World {
            submitter,
            policy,
            proof,
            message,
        }
    }

    fn check(w: &World) -> Result<VerifiedProof, SigsumError> {
        verify(&w.message, &w.proof, &[w.submitter.public_key()], &w.policy)
    }

    #[test]
    fn a_good_proof_verifies_through_the_core_policy() {
        let w = world();
        let v = check(&w).unwrap();
        assert_eq!(v.leaf_index, 3);
        assert_eq!(v.signer, w.submitter.public_key());
        assert_eq!(v.checkpoint.checkpoint.size, 8);
        assert_eq!(
            v.checkpoint.cosigners,
            vec![("A".to_owned(), TIME), ("B".to_owned(), TIME)],
            "the unknown witness is ignored"
        );
        // The note the policy verified is the checkpoint with the log's and A's and B's lines.
        let note = crate::note::parse(&v.checkpoint.note).unwrap();
        assert_eq!(note.signatures.len(), 3);
        assert_eq!(note.text, checkpoint_text(&w.proof));
        // A version 1 proof with the right checksum prefix verifies too.
        let mut v1 = world();
        v1.proof.short_checksum = Some([
            leaf::checksum(&v1.message).0[0],
            leaf::checksum(&v1.message).0[1],
        ]);
        assert!(check(&v1).is_ok());
    }

    #[test]
    fn every_failure_is_told_apart() {
        let mut w = world();
        w.message = sha256(b"other data");
        assert!(matches!(
            check(&w),
            Err(SigsumError::BadLeafSignature { .. })
        ));
        w.proof.short_checksum = Some([0, 0]);
        let e = check(&w).unwrap_err();
        assert!(matches!(e, SigsumError::OtherData { .. }), "{e}");

        let w = world();
        assert!(matches!(
            verify(
                &w.message,
                &w.proof,
                &[Seed([9; 32]).public_key()],
                &w.policy
            ),
            Err(SigsumError::UnknownSigner { keys: 1, .. })
        ));

        let mut w = world();
        w.proof.log_key_hash = sha256(b"another log");
        assert!(matches!(check(&w), Err(SigsumError::UnknownLog { .. })));

        let mut w = world();
        w.proof.signature[0] ^= 1;
        match check(&w) {
            Err(SigsumError::TreeHead(PolicyError::BadSignature { name, .. })) => {
                assert_eq!(name, origin(&w.proof.log_key_hash));
            }
            other => panic!("{other:?}"),
        }

        let mut w = world();
        w.proof.cosignatures.remove(2);
        let e = check(&w).unwrap_err();
        assert!(
            matches!(
                e,
                SigsumError::TreeHead(PolicyError::QuorumNotMet { count: 1, .. })
            ),
            "{e}"
        );

        let mut w = world();
        w.proof.cosignatures[1].timestamp += 1;
        assert!(matches!(
            check(&w),
            Err(SigsumError::TreeHead(PolicyError::BadSignature { .. }))
        ));

        let mut w = world();
        w.proof.path[1].0[0] ^= 1;
        assert!(matches!(check(&w), Err(SigsumError::NotIncluded(_))));

        let mut w = world();
        w.proof.leaf_index = 2;
        assert!(matches!(check(&w), Err(SigsumError::NotIncluded(_))));
    }
}
