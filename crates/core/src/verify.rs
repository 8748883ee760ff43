//! The one offline verification routine: "these `SHA256SUMS` bytes, published at this URL, are in a
//! log the policy trusts".
//!
//! Every verifier calls this (the bootstrap, `rget get`/`verify`/`cat`, `rget self verify`), so it is
//! kept small and obvious. It takes no input from the proof file that it could take from the caller:
//! the record is rebuilt from the URL the caller fetched and the bytes it got, never copied from the log
//! or the proof, so a proof for *another* record can never pass.

use crate::digest::Hash;
use crate::merkle::{self, MerkleError};
use crate::policy::{Policy, PolicyError, VerifiedCheckpoint};
use crate::record::{self, RecordError};
use crate::sums::Sums;
use crate::tlog_proof::{TlogProof, TlogProofError};

/// Why a logged `SHA256SUMS` or an artifact did not verify. Each variant is a different failure a user
/// must be able to tell apart.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The record for the fetched URL and `SHA256SUMS` bytes cannot be built (the URL has no
    /// canonical form, or the bytes are no valid `SHA256SUMS`), so there is nothing to look for in
    /// the log.
    #[error("cannot build the log record: {0}")]
    Record(#[from] RecordError),
    /// The `c2sp.org/tlog-proof@v1` file does not parse.
    #[error("{0}")]
    ProofFile(#[from] TlogProofError),
    /// The proof's checkpoint does not meet the policy: not signed by the policy's log for its
    /// origin, a bad signature by a known key, or too few witness cosignatures.
    #[error("checkpoint rejected: {0}")]
    Checkpoint(#[from] PolicyError),
    /// The checkpoint is trusted, but the proof's inclusion hashes do not lead from the record's
    /// leaf hash at the proof's index to the checkpoint's root.
    #[error(
        "SHA256SUMS is not in the log: the inclusion proof for index {index} does not verify against the checkpoint of size {size}: {source}"
    )]
    NotIncluded {
        /// The leaf index the proof file claims for the record.
        index: u64,
        /// The tree size of the proof's checkpoint.
        size: u64,
        /// Why the inclusion proof failed.
        source: MerkleError,
    },
    /// The file name has no line in the `SHA256SUMS`.
    #[error("{name:?} is not listed in SHA256SUMS")]
    NotListed {
        /// The file name looked up, as the caller gave it.
        name: String,
    },
    /// The file's SHA-256 differs from the digest its `SHA256SUMS` line lists.
    #[error("{name:?} has SHA-256 {actual}, but SHA256SUMS lists {expected}")]
    DigestMismatch {
        /// The file name looked up, as the caller gave it.
        name: String,
        /// The digest the `SHA256SUMS` lists for the name.
        expected: Hash,
        /// The digest of the bytes the caller got.
        actual: Hash,
    },
}

/// A `SHA256SUMS` proved to be in a trusted log.
#[derive(Debug, Clone)]
pub struct LoggedSums {
    /// The record's index in the log.
    pub index: u64,
    /// The record's RFC 6962 leaf hash.
    pub leaf_hash: Hash,
    /// The checkpoint the proof was checked under: log signature and quorum verified.
    pub checkpoint: VerifiedCheckpoint,
}

/// Verifies that the record for `sums_bytes` published at `url` is in a log trusted by `policy`,
/// according to the `c2sp.org/tlog-proof@v1` file `proof_file`. In order (C2SP tlog-proof, "Verifying"):
/// 1. rebuild the record from the canonical URL and the bytes, and hash it as an RFC 6962 leaf;
/// 2. the checkpoint must be signed by the policy's log for its origin and cosigned as the quorum
///    requires (signatures by unknown keys are ignored; a bad one by a known key rejects it);
/// 3. the inclusion proof must lead from that leaf at that index to the checkpoint's root.
///
/// It does not check that the checkpoint is consistent with checkpoints seen before: that needs state,
/// and the callers that have state do it with the returned checkpoint.
pub fn verify_logged_sums(
    policy: &Policy,
    url: &str,
    sums_bytes: &[u8],
    proof_file: &[u8],
) -> Result<LoggedSums, VerifyError> {
    let record = record::build(url, sums_bytes)?;
    let proof = TlogProof::parse(proof_file)?;
    verify_record(policy, &record, &proof)
}

/// Steps 2 and 3 of [`verify_logged_sums`] for a record the caller has already built.
pub fn verify_record(
    policy: &Policy,
    record: &[u8],
    proof: &TlogProof,
) -> Result<LoggedSums, VerifyError> {
    let leaf_hash = merkle::leaf_hash(record);
    let checkpoint = policy.verify_checkpoint(&proof.checkpoint)?;
    let size = checkpoint.checkpoint.size;
    merkle::verify_inclusion(
        proof.index,
        size,
        &leaf_hash,
        &proof.hashes,
        &checkpoint.checkpoint.root,
    )
    .map_err(|source| VerifyError::NotIncluded {
        index: proof.index,
        size,
        source,
    })?;
    Ok(LoggedSums {
        index: proof.index,
        leaf_hash,
        checkpoint,
    })
}

/// Checks that `name` is listed in `sums` with exactly `actual` as its digest.
pub fn check_listed(sums: &Sums, name: &str, actual: &Hash) -> Result<(), VerifyError> {
    let expected = *sums.get(name).ok_or_else(|| VerifyError::NotListed {
        name: name.to_string(),
    })?;
    // Digests of public files are not secrets: a plain comparison is right here.
    if expected != *actual {
        return Err(VerifyError::DigestMismatch {
            name: name.to_string(),
            expected,
            actual: *actual,
        });
    }
    Ok(())
}
