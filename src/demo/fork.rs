//! The demo's third attack: a log operator (or whoever stole the log's key) shows one victim a fork
//! of the log, a tree of the same size as the real one in which a `SHA256SUMS` of the attacker's
//! choosing is included, under a checkpoint the log key really signed. The proof is valid against
//! that checkpoint; what stops it is that no witness cosigns a checkpoint that contradicts the one
//! it already cosigned (C2SP tlog-witness), so the policy's quorum is not met.

use rget_core::checkpoint::Checkpoint;
use rget_core::merkle::{self, MemoryTree};
use rget_core::note::{self, SignerKey};
use rget_core::record;
use rget_core::tlog_proof::TlogProof;

/// A `SHA256SUMS.tlog-proof` placing the record of `sums` at `url` at index 0 of a forked tree of
/// `size` leaves (the real log's size, so the two views are two different trees of one size),
/// under a checkpoint signed with `log_key` (the text of the log's `log.key`) and no cosignature.
pub fn forged_proof(log_key: &str, size: u64, url: &str, sums: &[u8]) -> Result<Vec<u8>, String> {
    let key = SignerKey::parse(log_key.trim()).map_err(|e| format!("log key: {e}"))?;
    let leaf = merkle::leaf_hash(&record::build(url, sums).map_err(|e| e.to_string())?);
    let size = size.max(1);
    let mut tree = MemoryTree::from_leaf_hashes(
        std::iter::once(leaf)
            .chain((1..size).map(|i| merkle::leaf_hash(format!("filler {i}").as_bytes()))),
    );
    let hashes = merkle::inclusion_proof(0, size, &mut tree).map_err(|e| e.to_string())?;
    let checkpoint = Checkpoint {
        origin: key.name().to_owned(),
        size,
        root: tree.root(),
        extensions: Vec::new(),
    };
    let signed = note::sign(&checkpoint.format(), &[&key]).map_err(|e| e.to_string())?;
    Ok(TlogProof {
        extra: None,
        index: 0,
        hashes,
        checkpoint: signed,
    }
    .to_bytes())
}
